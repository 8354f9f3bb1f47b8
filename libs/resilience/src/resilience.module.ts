import { Module, type Provider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { DUCKDB_CALL_GUARD } from '@lib/duckdb';
import { CircuitBreakerRegistry } from './circuit-breaker.registry';
import { DatabaseExceptionHandler } from './database-exception.handler';
import { DatabaseCallGuard } from './database.guard';
import { ResilienceExplorer } from './resilience.explorer';
import { ResilienceInterceptor } from './resilience.interceptor';
import type { ResilienceModuleOptions } from './resilience.interfaces';
import {
  RESILIENCE_MODULE_OPTIONS,
  ResilienceConfigurableModule,
} from './resilience.module-definition';

const guardProvider: Provider = {
  provide: DUCKDB_CALL_GUARD,
  inject: [RESILIENCE_MODULE_OPTIONS, CircuitBreakerRegistry],
  useFactory: (options: ResilienceModuleOptions, registry: CircuitBreakerRegistry) =>
    options.guardDatabase === false ? undefined : new DatabaseCallGuard(registry),
};

/**
 * Resilience policies: named circuit breakers, retries with budgets and timeouts
 * (`CircuitBreakerRegistry`), `@Retry` / `@CircuitBreaker` / `@Timeout`, `ResilienceInterceptor`,
 * `DatabaseExceptionHandler`, and the guard that puts every `DuckDbClient` statement behind the
 * `database` breaker. Register it globally so `DuckDbModule` finds the guard.
 *
 * @example
 * ResilienceModule.forRoot({ isGlobal: true, breaker: { failureThreshold: 5, resetTimeoutMs: 30_000 } })
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    DatabaseExceptionHandler,
    CircuitBreakerRegistry,
    ResilienceInterceptor,
    ResilienceExplorer,
    guardProvider,
  ],
  exports: [
    DatabaseExceptionHandler,
    CircuitBreakerRegistry,
    ResilienceInterceptor,
    DUCKDB_CALL_GUARD,
  ],
})
export class ResilienceModule extends ResilienceConfigurableModule {}
