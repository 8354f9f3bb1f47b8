import { setTimeout as sleep } from 'node:timers/promises';
import { ScopedStorage } from './scoped-storage';

describe('ScopedStorage', () => {
  it('a context holds its store across awaits until its promise settles, then closes', async () => {
    const storage = new ScopedStorage<string>();
    const seen: (string | undefined)[] = [];
    const result = storage.run('tx-1', async () => {
      seen.push(storage.getStore());
      await sleep(1);
      seen.push(storage.getStore());
      expect(storage.openCount).toBe(1);
      return 42;
    });
    await expect(result).resolves.toBe(42);
    expect(seen).toEqual(['tx-1', 'tx-1']);
    expect(storage.openCount).toBe(0);
    expect(storage.getStore()).toBeUndefined();
  });

  it('nested and concurrent contexts: each sees its own store; closing one leaves the others open', async () => {
    const storage = new ScopedStorage<string>();
    const release = (() => {
      let open!: () => void;
      const opened = new Promise<void>((resolve) => (open = resolve));
      return { opened, open };
    })();
    const outer = storage.run('outer', async () => {
      await storage.run('inner', async () => {
        await sleep(1);
        expect(storage.getStore()).toBe('inner');
      });
      expect(storage.getStore()).toBe('outer');
      await release.opened;
      expect(storage.getStore()).toBe('outer');
    });
    const other = storage.run('other', async () => {
      await sleep(2);
      return storage.getStore();
    });
    await expect(other).resolves.toBe('other');
    expect(storage.openCount).toBe(1);
    release.open();
    await outer;
    expect(storage.openCount).toBe(0);
  });

  it('a function that throws, or a promise that rejects, closes its context and the error reaches the caller', async () => {
    const storage = new ScopedStorage<string>();
    expect(() =>
      storage.run('sync', () => {
        throw new Error('sync failure');
      }),
    ).toThrow('sync failure');
    await expect(
      storage.run('async', async () => {
        await sleep(1);
        throw new Error('async failure');
      }),
    ).rejects.toThrow('async failure');
    expect(storage.openCount).toBe(0);
  });

  it('work still running after its context ended sees no store (the storage is off)', async () => {
    const storage = new ScopedStorage<string>();
    let late: string | undefined = 'not run';
    let lateDone!: Promise<void>;
    await storage.run('short', async () => {
      lateDone = sleep(5).then(() => {
        late = storage.getStore();
      });
      await sleep(1);
    });
    await lateDone;
    expect(late).toBeUndefined();
    // A later context works again.
    await expect(storage.run('again', async () => storage.getStore())).resolves.toBe('again');
  });

  it('runUntilClosed keeps callback-style work in its context until closed (once)', async () => {
    const storage = new ScopedStorage<string>();
    let later: Promise<string | undefined> | undefined;
    const close = storage.runUntilClosed('request-1', () => {
      later = sleep(2).then(() => storage.getStore());
    });
    await expect(later).resolves.toBe('request-1');
    expect(storage.openCount).toBe(1);
    const other = storage.runUntilClosed('request-2', () => undefined);
    close();
    close();
    expect(storage.openCount).toBe(1);
    other();
    expect(storage.openCount).toBe(0);
    expect(storage.getStore()).toBeUndefined();
  });

  it('exit runs outside every context', async () => {
    const storage = new ScopedStorage<string>();
    await storage.run('tx', async () => {
      expect(storage.exit(() => storage.getStore())).toBeUndefined();
      await expect(storage.exit(async () => storage.getStore())).resolves.toBeUndefined();
      expect(storage.getStore()).toBe('tx');
    });
  });
});
