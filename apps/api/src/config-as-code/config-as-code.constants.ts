import { API_PREFIX } from '../common/api-docs';

/** The controller path of the configuration-as-code routes. */
export const CONFIG_PATH = `${API_PREFIX}/config`;

/** The import route's pattern, as Fastify reports it (`request.routeOptions.url`). */
export const IMPORT_ROUTE = `/${CONFIG_PATH}/import`;
