export { AppBoundMethods } from './app-bound-methods';
