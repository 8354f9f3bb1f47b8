import { Module, type Provider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { DUCKDB_CALL_GUARD } from '@lib/duckdb';
import { ResiliencePolicies } from './resilience-policies';
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
  inject: [RESILIENCE_MODULE_OPTIONS, ResiliencePolicies],
  useFactory: (options: ResilienceModuleOptions, policies: ResiliencePolicies) =>
    options.guardDatabase === false ? undefined : new DatabaseCallGuard(policies),
};

/**
 * Resilience policies: named circuit breakers, retries with budgets and timeouts
 * (`ResiliencePolicies`), `@Retry` / `@CircuitBreaker` / `@Timeout`, `ResilienceInterceptor`,
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
    ResiliencePolicies,
    ResilienceInterceptor,
    ResilienceExplorer,
    guardProvider,
  ],
  exports: [DatabaseExceptionHandler, ResiliencePolicies, ResilienceInterceptor, DUCKDB_CALL_GUARD],
})
export class ResilienceModule extends ResilienceConfigurableModule {}
