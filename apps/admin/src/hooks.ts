import { useState } from 'preact/hooks';

/**
 * Runs one piece of work at a time (`busy` meanwhile): clears the error first, and hands any
 * failure to `onError` instead of throwing.
 */
export function useRunner(onError: (error: unknown) => void) {
  const [busy, setBusy] = useState(false);
  const run = async (work: () => Promise<void>): Promise<void> => {
    setBusy(true);
    onError(null);
    try {
      await work();
    } catch (failure) {
      onError(failure);
    } finally {
      setBusy(false);
    }
  };
  return { busy, run };
}
