import type { TransactionHost } from './transaction.host';

/**
 * Runs a test body inside a transaction that is always rolled back, so tests can share one
 * database file without cleaning up. Everything the body does through `DuckDbClient` (directly or
 * through services, `@Transactional` methods joining it) is visible inside and gone afterwards;
 * after-commit hooks never run, after-rollback hooks do.
 *
 * The body must not start `RequiresNew` scopes or other requests that need their own connection
 * to see its writes: they run outside the test's transaction.
 *
 * @example
 * it('creates a config', () =>
 *   withRollback(app.get(TransactionHost), async () => {
 *     await service.create(dto);
 *     expect(await repository.count()).toBe(10);
 *   }));
 */
export function withRollback<T>(host: TransactionHost, body: () => Promise<T>): Promise<T> {
  return host.runAndRollback(body);
}
