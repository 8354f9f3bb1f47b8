import { DUCKDB_DEFAULTS } from './duckdb.constants';
import { resolveDuckDbOptions, sizeUvThreadPool } from './duckdb.options';

describe('resolveDuckDbOptions', () => {
  it('applies every default when nothing is set', () => {
    const resolved = resolveDuckDbOptions({});
    expect(resolved.pool).toEqual({
      enabled: true,
      min: 1,
      max: 4,
      acquireTimeoutMs: 5000,
      idleTimeoutMs: 300_000,
      healthCheckAfterIdleMs: 30_000,
    });
    expect(resolved).toMatchObject({
      path: ':memory:',
      queryTimeoutMs: 10_000,
      statementCacheSize: 64,
      config: {},
    });
    expect(resolved.migrations).toBeUndefined();
  });

  it('keeps what the caller sets and fills in the rest', () => {
    const resolved = resolveDuckDbOptions({
      path: './data/app.duckdb',
      pool: { max: 8, acquireTimeoutMs: 0, enabled: false },
      queryTimeoutMs: 0,
      statementCacheSize: 1,
      config: { threads: '1' },
      migrations: { directory: './migrations' },
    });
    expect(resolved).toMatchObject({
      path: './data/app.duckdb',
      pool: {
        enabled: false,
        min: 1,
        max: 8,
        acquireTimeoutMs: 0,
        idleTimeoutMs: 300_000,
        healthCheckAfterIdleMs: 30_000,
      },
      queryTimeoutMs: 0,
      statementCacheSize: 1,
      config: { threads: '1' },
      migrations: { directory: './migrations' },
    });
  });

  it('treats pool settings given as undefined as not set', () => {
    const resolved = resolveDuckDbOptions({ pool: { min: undefined, max: undefined } });
    expect(resolved.pool).toMatchObject({ min: 1, max: 4 });
  });

  it('never shares or changes the defaults object', () => {
    const resolved = resolveDuckDbOptions({ pool: { max: 2 } });
    expect(resolved.pool).not.toBe(DUCKDB_DEFAULTS.pool);
    resolved.pool.min = 2;
    expect(DUCKDB_DEFAULTS.pool.min).toBe(1);
    expect(DUCKDB_DEFAULTS.pool.max).toBe(4);
    expect(resolveDuckDbOptions({}).pool.min).toBe(1);
  });

  it('accepts min equal to max and min 0', () => {
    expect(resolveDuckDbOptions({ pool: { min: 3, max: 3 } }).pool).toMatchObject({
      min: 3,
      max: 3,
    });
    expect(resolveDuckDbOptions({ pool: { min: 0, max: 1 } }).pool).toMatchObject({
      min: 0,
      max: 1,
    });
  });

  it('rejects min greater than max', () => {
    expect(() => resolveDuckDbOptions({ pool: { min: 5, max: 4 } })).toThrow(RangeError);
    expect(() => resolveDuckDbOptions({ pool: { min: 5 } })).toThrow(/min \(5\).*max \(4\)/);
  });

  it.each([
    ['pool.min', { pool: { min: -1 } }],
    ['pool.min', { pool: { min: 1.5 } }],
    ['pool.max', { pool: { max: 0 } }],
    ['pool.max', { pool: { max: Number.NaN } }],
    ['pool.acquireTimeoutMs', { pool: { acquireTimeoutMs: -1 } }],
    ['pool.idleTimeoutMs', { pool: { idleTimeoutMs: 0 } }],
    ['queryTimeoutMs', { queryTimeoutMs: -5 }],
    ['queryTimeoutMs', { queryTimeoutMs: Number.POSITIVE_INFINITY }],
    ['statementCacheSize', { statementCacheSize: 0 }],
  ])('rejects an out-of-range %s', (name, options) => {
    expect(() => resolveDuckDbOptions(options)).toThrow(RangeError);
    expect(() => resolveDuckDbOptions(options)).toThrow(name);
  });

  // NaN would make the pool's sweeper interval NaN, which Node runs every millisecond.
  it('rejects an out-of-range pool.healthCheckAfterIdleMs', () => {
    expect(() => resolveDuckDbOptions({ pool: { healthCheckAfterIdleMs: -1 } })).toThrow(
      /healthCheckAfterIdleMs/,
    );
    expect(() => resolveDuckDbOptions({ pool: { healthCheckAfterIdleMs: Number.NaN } })).toThrow(
      /healthCheckAfterIdleMs/,
    );
  });
});

describe('sizeUvThreadPool', () => {
  it('sets a thread per connection plus two, at least four, when unset', () => {
    const env: NodeJS.ProcessEnv = {};
    expect(sizeUvThreadPool(4, env)).toBe(6);
    expect(env.UV_THREADPOOL_SIZE).toBe('6');
    expect(sizeUvThreadPool(1, {})).toBe(4);
    expect(sizeUvThreadPool(2, {})).toBe(4);
    expect(sizeUvThreadPool(10, {})).toBe(12);
  });

  it('treats an empty value as unset', () => {
    const env: NodeJS.ProcessEnv = { UV_THREADPOOL_SIZE: '' };
    expect(sizeUvThreadPool(3, env)).toBe(5);
    expect(env.UV_THREADPOOL_SIZE).toBe('5');
  });

  it('keeps a size the operator chose', () => {
    const env: NodeJS.ProcessEnv = { UV_THREADPOOL_SIZE: '16' };
    expect(sizeUvThreadPool(4, env)).toBe(16);
    expect(env.UV_THREADPOOL_SIZE).toBe('16');
  });

  it('changes only the environment it is given', () => {
    const before = process.env.UV_THREADPOOL_SIZE;
    sizeUvThreadPool(50, {});
    expect(process.env.UV_THREADPOOL_SIZE).toBe(before);
  });
});
