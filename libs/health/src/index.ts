export { HealthModule } from './health.module';
export { HEALTH_MODULE_OPTIONS } from './health.module-definition';
export { HEALTH_DEFAULTS, HEALTH_ROUTES } from './health.constants';
export { HealthController } from './health.controller';
export { DatabaseHealthIndicator, type DatabaseHealthDetails } from './database.health';
export { PoolHealthIndicator } from './pool.health';
export { CacheHealthIndicator } from './cache.health';
export { CircuitsHealthIndicator } from './circuits.health';
export type { HealthModuleOptions } from './health.interfaces';
