export { AppBoundMethods } from './app-bound-methods';
export { type BackoffOptions, type Jitter, backoffDelay } from './backoff';
export { withTimeout, withoutUndefined } from './helpers';
export { ScopedStorage } from './scoped-storage';
