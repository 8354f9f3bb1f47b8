export { ResilienceModule } from './resilience.module';
export { RESILIENCE_MODULE_OPTIONS } from './resilience.module-definition';
export { DATABASE_CIRCUIT, RESILIENCE_DEFAULTS } from './resilience.constants';
export { CircuitBreakerRegistry, ResiliencePolicies } from './resilience-policies';
export {
  CircuitBreaker as CircuitBreakerPolicy,
  type CallPermit,
  type CircuitState,
} from './circuit-breaker';
export {
  CircuitBreaker,
  Retry,
  Timeout,
  type RetryDecoratorOptions,
} from './resilience.decorators';
export {
  ResilienceInterceptor,
  UseResilience,
  type ResilienceHandlerOptions,
} from './resilience.interceptor';
export { DatabaseExceptionHandler, type DatabaseErrorContext } from './database-exception.handler';
export { DatabaseCallGuard } from './database.guard';
export { RetryPolicy } from './retry.policy';
export { RetryBudget } from './retry-budget';
export { JitteredBackoff } from './backoff';
export { type Clock, systemClock } from './clock';
export {
  CallAbortedError,
  CircuitOpenError,
  OperationTimeoutError,
  ResilienceError,
} from './resilience.errors';
export type * from './resilience.interfaces';
