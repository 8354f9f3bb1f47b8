import { randomUUID } from 'node:crypto';
import { ScopedStorage } from '@lib/common';

/** The kinds of change the history records (API.md §2, History): the operation that made it. */
export type HistoryOperation =
  | 'create'
  | 'update'
  | 'upsert'
  | 'delete'
  | 'bulk'
  | 'chain'
  | 'seed'
  | 'reset'
  | 'restore'
  | 'import';

/** Who changes configs and why: carried to the history rows without a parameter passed down. */
export interface ChangeContext {
  /** The label of the API key that authorized the change (`API_KEYS`), `cli`, `system`, or null. */
  readonly actor: string | null;
  /** The HTTP request's id (`X-Request-Id`), if the change came over HTTP. */
  readonly requestId: string | null;
  /** Set by {@link RecordedAs}: the outermost operation wins. */
  readonly operation?: HistoryOperation;
  /** One id per operation: every history row it writes shares it. */
  readonly changeSet?: string;
}

const storage = new ScopedStorage<ChangeContext>();

/** The change context of the current async context; `system` when none was set. */
export function currentChange(): ChangeContext {
  return storage.getStore() ?? { actor: 'system', requestId: null };
}

/** Runs `fn` in `context` until it returns (or the promise it returns settles). */
export function runInChangeContext<T>(context: ChangeContext, fn: () => T): T {
  return storage.run(context, fn);
}

/**
 * Runs `fn`, callback-style work such as the rest of an HTTP write (whose actor the API key guard
 * decides later), in `context` until the returned function is called.
 */
export function openChangeContext(context: ChangeContext, fn: () => void): () => void {
  return storage.runUntilClosed(context, fn);
}

/**
 * Names the operation a service method performs, for the history rows its writes record; nested
 * calls keep the outermost name and change set (a chain restore's deletes are a `restore`).
 *
 * @example
 * @RecordedAs('chain') @Transactional() replaceChain(…) { … }
 */
export function RecordedAs(operation: HistoryOperation): MethodDecorator {
  return (_target, _key, descriptor: PropertyDescriptor) => {
    const original = descriptor.value as (...args: unknown[]) => unknown;
    descriptor.value = function (this: unknown, ...args: unknown[]) {
      const context = currentChange();
      if (context.operation) return original.apply(this, args);
      // Read now (an HTTP write's actor is a getter): the handler runs after the API key guard.
      const { actor, requestId } = context;
      const scoped = { actor, requestId, operation, changeSet: randomUUID() };
      return storage.run(scoped, () => original.apply(this, args));
    };
    Object.defineProperty(descriptor.value, 'name', { value: original.name });
    return descriptor;
  };
}
