/**
 * Settles like `promise`, or rejects with `onTimeout()` after `ms`; the timer is always cleared.
 * The work behind `promise` is not cancelled: pair it with an `AbortSignal` where that matters.
 *
 * @example await withTimeout(client.query('SELECT 1'), 2000, () => new Error('no answer'));
 */
export async function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  onTimeout: () => Error,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(onTimeout()), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A copy of `value` without its `undefined` properties, for merging options over defaults. */
export function withoutUndefined<T extends object>(value: T | undefined): Partial<T> {
  return Object.fromEntries(
    Object.entries(value ?? {}).filter(([, v]) => v !== undefined),
  ) as Partial<T>;
}
