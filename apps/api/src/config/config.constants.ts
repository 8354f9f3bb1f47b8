/** Injection token of the validated {@link AppConfig}. */
export const APP_CONFIG = 'API:APP_CONFIG';
