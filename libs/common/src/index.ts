export { AppBoundMethods } from './app-bound-methods';
export { withTimeout, withoutUndefined } from './helpers';
