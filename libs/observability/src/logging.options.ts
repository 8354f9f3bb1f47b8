import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Params } from 'nestjs-pino';
import { type LevelWithSilent, stdTimeFunctions } from 'pino';
import type { Options } from 'pino-http';
import { LOGGING_DEFAULTS, REDACTED, REDACT_PATHS } from './observability.constants';
import type { LoggingModuleOptions } from './observability.interfaces';
import { requestIds } from './request-context';

/** Query parameters whose values never reach the log (a key sent in the URL by mistake). */
const SECRET_PARAM = /key|token|secret|passw|auth|signature|session|cookie/i;

/** Longest URL written to the log; hostile clients send URLs of many kilobytes. */
const MAX_LOGGED_URL = 2048;

/** The request as pino's standard serializer gives it. */
interface SerializedRequest {
  id: unknown;
  method: string;
  url?: string;
  headers: Record<string, unknown>;
  remoteAddress?: string;
  remotePort?: number;
}

/** `url` with the values of secret-looking query parameters replaced by `[REDACTED]`. */
export function redactUrl(url: string): string {
  const start = url.indexOf('?');
  if (start < 0) return url;
  const query = url
    .slice(start + 1)
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      const name = equals < 0 ? pair : pair.slice(0, equals);
      return equals >= 0 && SECRET_PARAM.test(name) ? `${name}=${REDACTED}` : pair;
    });
  return `${url.slice(0, start)}?${query.join('&')}`;
}

function truncate(url: string): string {
  return url.length <= MAX_LOGGED_URL
    ? url
    : `${url.slice(0, MAX_LOGGED_URL)}...(${url.length - MAX_LOGGED_URL} more)`;
}

/**
 * The request fields worth a log line: id, method, URL (secret query values redacted), headers
 * (credentials redacted by `redact`), peer. Never the body, the parsed query or route params.
 */
function serializeRequest(req: SerializedRequest): SerializedRequest {
  return {
    id: req.id,
    method: req.method,
    url: truncate(redactUrl(req.url ?? '')),
    headers: req.headers,
    remoteAddress: req.remoteAddress,
    remotePort: req.remotePort,
  };
}

/**
 * The level of a request's completion line: `error` for 5xx, `warn` for 4xx, `debug` for
 * successful requests under a quiet prefix (probes, scrapes), else `info`.
 */
export function requestLogLevel(
  quietRoutes: readonly string[],
  url: string | undefined,
  statusCode: number,
  error?: unknown,
): LevelWithSilent {
  if (error || statusCode >= 500) return 'error';
  if (statusCode >= 400) return 'warn';
  const path = (url ?? '').split('?', 1)[0];
  const quiet = quietRoutes.some((prefix) => path === prefix || path.startsWith(`${prefix}/`));
  return quiet ? 'debug' : 'info';
}

/**
 * Builds the `nestjs-pino` parameters: JSON lines with ISO timestamps and upper-case level names
 * (`INFO`, `WARN`, ...); the request id (Fastify's `request.id`, the one echoed in
 * `X-Request-Id`) as `reqId` on every line logged while a request is served (from
 * `requestIds`, through pino's mixin); credentials redacted. No request middleware:
 * `RequestLogger` logs requests from Fastify hooks.
 */
export function createPinoParams(options: LoggingModuleOptions = {}): Params {
  const level = options.level ?? LOGGING_DEFAULTS.level;
  const pinoHttp: Options<IncomingMessage, ServerResponse> = {
    level,
    timestamp: stdTimeFunctions.isoTime,
    // Level names as log processors show them (`"level":"WARN"`), not pino's numbers.
    formatters: { level: (label) => ({ level: label.toUpperCase() }) },
    redact: { paths: [...REDACT_PATHS, ...(options.redact ?? [])], censor: REDACTED },
    mixin: requestIdMixin,
    serializers: {
      req: serializeRequest,
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
  };
  return {
    pinoHttp: options.destination ? [pinoHttp, options.destination] : pinoHttp,
    // nestjs-pino's pino-http middleware is not installed: it builds a redacted child logger for
    // every request, which costs more than serving a cached read, even when nothing is written.
    forRoutes: [],
  };
}

/** `{ reqId }` while a request is served, else nothing. */
function requestIdMixin(): object {
  const reqId = requestIds.getStore();
  return reqId === undefined ? {} : { reqId };
}
