/**
 * Readers of environment variables: each returns the fallback when the variable is unset or
 * blank, and throws a {@link ConfigError} naming the variable when its value is malformed.
 */

/** A malformed environment variable; the message names it. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** An environment: `process.env` or a test's own. */
export type Env = Record<string, string | undefined>;

/** The value of `name`, trimmed; undefined when unset or blank. */
export function read(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** An integer from `min` to `max` (digits only). */
export function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return Number(raw);
}

/** As {@link int}, or undefined when unset. */
export function optionalInt(env: Env, name: string, min: number, max: number): number | undefined {
  return read(env, name) === undefined ? undefined : int(env, name, 0, min, max);
}

/** Bytes per unit of a DuckDB size (DuckDB reads KB, MB, … as powers of 1000). */
const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/** A size such as `512MB` or `1.5GiB` (the forms DuckDB accepts), at least `minBytes`. */
export function memorySize(env: Env, name: string, fallback: string, minBytes: number): string {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]+)$/i.exec(raw);
  const unit = match ? SIZE_UNITS[match[2].toLowerCase()] : undefined;
  if (!match || unit === undefined) {
    throw new ConfigError(
      `${name} must be a size such as 256MiB, 512MB or 2GiB (units B, KB, MB, GB, TB, KiB, MiB, GiB, TiB), got "${raw}"`,
    );
  }
  if (Number(match[1]) * unit < minBytes) {
    throw new ConfigError(`${name} must be at least ${minBytes / 2 ** 20}MiB, got "${raw}"`);
  }
  return raw;
}

/** `true`/`1`/`yes`/`on` or `false`/`0`/`no`/`off`, any case. */
export function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  const lower = raw.toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(lower)) return true;
  if (['false', '0', 'no', 'off'].includes(lower)) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

/** One of `values`, exactly. */
export function oneOf<T extends string>(
  env: Env,
  name: string,
  values: readonly T[],
  fallback: T,
): T {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  if (!(values as readonly string[]).includes(raw)) {
    throw new ConfigError(`${name} must be one of ${values.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

/** A URL with one of `protocols` (`redis:`, …). */
export function url(env: Env, name: string, fallback: string, protocols: string[]): string {
  const raw = read(env, name) ?? fallback;
  try {
    const parsed = new URL(raw);
    if (!protocols.includes(parsed.protocol)) throw new Error('protocol');
  } catch {
    throw new ConfigError(`${name} must be a ${protocols.join(' or ')} URL`);
  }
  return raw;
}
