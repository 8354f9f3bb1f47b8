import { DEFAULT_REQUEST_TIMEOUT_MS } from '../common/http-hardening';
import {
  ConfigError,
  type Env,
  bool,
  int,
  memorySize,
  oneOf,
  optionalInt,
  read,
  url,
} from './env-values';

export { ConfigError } from './env-values';

/** Log levels accepted by `LOG_LEVEL`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The validated configuration of the API (API.md §4), read once at startup. */
export interface AppConfig {
  port: number;
  host: string;
  duckdb: {
    path: string;
    poolEnabled: boolean;
    poolMin: number;
    poolMax: number;
    acquireTimeoutMs: number;
    idleTimeoutMs: number;
    queryTimeoutMs: number;
    /** DuckDB's `threads` (`DEFAULT_DUCKDB_THREADS` unless set). */
    threads: number;
    /** DuckDB's `memory_limit` (its buffer manager: table data, indexes, intermediates). */
    memoryLimit: string;
    /** DuckDB's `checkpoint_threshold`: the WAL size at which a commit checkpoints. */
    checkpointThreshold: string;
  };
  cache: {
    store: 'memory' | 'redis';
    redisUrl: string;
    ttlMs: number;
    opTimeoutMs: number;
    /** Rendered responses of the hot GET routes kept in memory; 0 turns that off. */
    responseEntries: number;
  };
  retry: { maxRetries: number; baseDelayMs: number; maxDelayMs: number };
  breaker: { failureThreshold: number; resetTimeoutMs: number };
  /**
   * Keys that authorize writes, each with the label the history records as its actor (never the
   * key): `API_KEYS=label:key,…`, and `API_KEY` as the key labelled `default`. Empty: writes open.
   */
  apiKeys: ApiKeyEntry[];
  rateLimitPerMinute?: number;
  /** `HISTORY_RETENTION_DAYS`: history rows older than this are pruned; unset keeps all. */
  historyRetentionDays?: number;
  /** The change stream (API.md §2, Change stream). */
  events: {
    /** `EVENTS_HEARTBEAT_MS`: a comment line on every open stream this often. */
    heartbeatMs: number;
    /** `EVENTS_REQUIRE_KEY`: streams and the event log need an API key too. */
    requireKey: boolean;
    /** `EVENTS_CLIENT_BUFFER_BYTES`: a stream whose unsent output passes this is closed. */
    clientBufferBytes: number;
    /** `EVENTS_MAX_CLIENTS`: open streams at most; more get 503. */
    maxClients: number;
  };
  seedOnEmpty: boolean;
  logLevel: LogLevel;
  /** Largest accepted request body, in bytes (1 MiB). */
  bodyLimit: number;
  /** `HTTP_REQUEST_TIMEOUT_MS`: a request not fully received by then is answered 408 and closed. */
  requestTimeoutMs: number;
}

/**
 * Every environment variable the service reads (API.md §4). Process helpers remove them from the
 * environment they hand down, so that a developer's shell cannot change what they start.
 */
export const APP_ENV_VARIABLES = [
  'PORT',
  'HOST',
  'DUCKDB_PATH',
  'DUCKDB_POOL_ENABLED',
  'DUCKDB_POOL_MIN',
  'DUCKDB_POOL_MAX',
  'DUCKDB_POOL_ACQUIRE_TIMEOUT_MS',
  'DUCKDB_POOL_IDLE_TIMEOUT_MS',
  'DUCKDB_QUERY_TIMEOUT_MS',
  'DUCKDB_THREADS',
  'DUCKDB_MEMORY_LIMIT',
  'DUCKDB_CHECKPOINT_THRESHOLD',
  'CACHE_STORE',
  'REDIS_URL',
  'CACHE_TTL_MS',
  'CACHE_OP_TIMEOUT_MS',
  'CACHE_RESPONSE_ENTRIES',
  'RETRY_MAX_RETRIES',
  'RETRY_BASE_DELAY_MS',
  'RETRY_MAX_DELAY_MS',
  'BREAKER_FAILURE_THRESHOLD',
  'BREAKER_RESET_TIMEOUT_MS',
  'API_KEY',
  'API_KEYS',
  'HISTORY_RETENTION_DAYS',
  'EVENTS_HEARTBEAT_MS',
  'EVENTS_REQUIRE_KEY',
  'EVENTS_CLIENT_BUFFER_BYTES',
  'EVENTS_MAX_CLIENTS',
  'HTTP_REQUEST_TIMEOUT_MS',
  'RATE_LIMIT_PER_MINUTE',
  'SEED_ON_EMPTY',
  'LOG_LEVEL',
  'ADMIN_DIST_DIR',
] as const;

/** One API key and the label that names whoever holds it. */
export interface ApiKeyEntry {
  label: string;
  key: string;
}

/**
 * DuckDB's `memory_limit` for this service: a configuration service's data and indexes take
 * tens of MiB (11–21 MiB under `npm run bench -- soak`, 5 minutes of mixed traffic), while
 * DuckDB's own default (80% of RAM) lets its caches grow freely.
 */
export const DEFAULT_DUCKDB_MEMORY_LIMIT = '256MiB';
/**
 * DuckDB's `threads` for this service: one, so each query runs on the thread that issued it (the
 * pool's connections still run side by side). This service's statements touch a handful of rows;
 * DuckDB's extra worker threads only wake, spin and sleep around them. Measured on 2 cores
 * (one-row UPDATE and COMMIT, serial): 1.9 ms of CPU with one thread, 3.0 ms with two; a PATCH
 * over HTTP under 8 concurrent writers: 10–13% less CPU and 10% more writes/s. A deployment that
 * runs large history scans can raise it (`DUCKDB_THREADS`).
 */
export const DEFAULT_DUCKDB_THREADS = 1;
/**
 * DuckDB's own `checkpoint_threshold`, kept as the default: the commit that takes the WAL past it
 * checkpoints, stalling that write (97–484 ms measured with 100-config chain replaces, which write
 * about 150 KB of WAL each with their history and event). A larger value makes the stalls rarer
 * but longer, the WAL bigger and a restart after a crash slower (it replays the WAL).
 */
export const DEFAULT_DUCKDB_CHECKPOINT_THRESHOLD = '16MiB';
/** A smaller threshold checkpoints after nearly every write. */
export const MIN_DUCKDB_CHECKPOINT_THRESHOLD_BYTES = 2 ** 20;
/** Below this DuckDB cannot run migrations and the service's queries reliably. */
export const MIN_DUCKDB_MEMORY_LIMIT_BYTES = 16 * 2 ** 20;

const LABEL = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** `API_KEY` (labelled `default`) and `API_KEYS=label:key,…`; keys ≥ 8 characters, no spaces. */
function apiKeysOf(env: Env): ApiKeyEntry[] {
  const entries: ApiKeyEntry[] = [];
  const single = env.API_KEY === undefined || env.API_KEY === '' ? undefined : env.API_KEY;
  if (single !== undefined) {
    if (single.length < 8 || /\s/.test(single)) {
      throw new ConfigError('API_KEY must be at least 8 characters without spaces');
    }
    entries.push({ label: 'default', key: single });
  }
  const list = read(env, 'API_KEYS');
  for (const item of list === undefined ? [] : list.split(',')) {
    const separator = item.indexOf(':');
    const [label, key] = [item.slice(0, separator).trim(), item.slice(separator + 1).trim()];
    if (separator < 0 || !LABEL.test(label) || key.length < 8 || /\s/.test(key)) {
      throw new ConfigError(
        'API_KEYS must be label:key pairs separated by commas (label [A-Za-z0-9_.-], key ≥ 8 characters without spaces)',
      );
    }
    if (entries.some((entry) => entry.label === label)) {
      throw new ConfigError(`API_KEYS names the label "${label}" twice`);
    }
    entries.push({ label, key });
  }
  return entries;
}

/**
 * Validates the environment (API.md §4) into an {@link AppConfig}.
 * @throws ConfigError naming the first malformed variable.
 */
export function loadConfig(env: Env = process.env): AppConfig {
  const host = read(env, 'HOST') ?? '127.0.0.1';
  if (!/^[\w.:-]+$/.test(host))
    throw new ConfigError(`HOST must be a host name or address, got "${host}"`);
  const apiKeys = apiKeysOf(env);
  return {
    port: int(env, 'PORT', 3000, 0, 65535),
    host,
    duckdb: duckdbConfig(env),
    cache: {
      store: oneOf(env, 'CACHE_STORE', ['memory', 'redis'] as const, 'memory'),
      redisUrl: url(env, 'REDIS_URL', 'redis://127.0.0.1:6379', ['redis:', 'rediss:']),
      ttlMs: int(env, 'CACHE_TTL_MS', 300_000, 1, 86_400_000),
      opTimeoutMs: int(env, 'CACHE_OP_TIMEOUT_MS', 50, 1, 60_000),
      responseEntries: int(env, 'CACHE_RESPONSE_ENTRIES', 1_000, 0, 1_000_000),
    },
    retry: {
      maxRetries: int(env, 'RETRY_MAX_RETRIES', 3, 0, 20),
      baseDelayMs: int(env, 'RETRY_BASE_DELAY_MS', 50, 1, 60_000),
      maxDelayMs: int(env, 'RETRY_MAX_DELAY_MS', 2000, 1, 600_000),
    },
    breaker: {
      failureThreshold: int(env, 'BREAKER_FAILURE_THRESHOLD', 5, 1, 1000),
      resetTimeoutMs: int(env, 'BREAKER_RESET_TIMEOUT_MS', 30_000, 1, 3_600_000),
    },
    apiKeys,
    historyRetentionDays: optionalInt(env, 'HISTORY_RETENTION_DAYS', 1, 36_500),
    events: {
      heartbeatMs: int(env, 'EVENTS_HEARTBEAT_MS', 15_000, 100, 300_000),
      requireKey: bool(env, 'EVENTS_REQUIRE_KEY', false),
      clientBufferBytes: int(
        env,
        'EVENTS_CLIENT_BUFFER_BYTES',
        1024 * 1024,
        16 * 1024,
        64 * 1024 * 1024,
      ),
      maxClients: int(env, 'EVENTS_MAX_CLIENTS', 10_000, 1, 1_000_000),
    },
    rateLimitPerMinute: optionalInt(env, 'RATE_LIMIT_PER_MINUTE', 1, 1_000_000),
    seedOnEmpty: bool(env, 'SEED_ON_EMPTY', true),
    logLevel: oneOf(env, 'LOG_LEVEL', LOG_LEVELS, 'info'),
    bodyLimit: 1024 * 1024,
    requestTimeoutMs: int(
      env,
      'HTTP_REQUEST_TIMEOUT_MS',
      DEFAULT_REQUEST_TIMEOUT_MS,
      1_000,
      120_000,
    ),
  };
}

/** The `DUCKDB_*` variables. */
function duckdbConfig(env: Env): AppConfig['duckdb'] {
  const poolMin = int(env, 'DUCKDB_POOL_MIN', 1, 0, 64);
  const poolMax = int(env, 'DUCKDB_POOL_MAX', 4, 1, 64);
  if (poolMin > poolMax) {
    throw new ConfigError(
      `DUCKDB_POOL_MIN (${poolMin}) must not exceed DUCKDB_POOL_MAX (${poolMax})`,
    );
  }
  return {
    path: read(env, 'DUCKDB_PATH') ?? './data/model-configs.duckdb',
    poolEnabled: bool(env, 'DUCKDB_POOL_ENABLED', true),
    poolMin,
    poolMax,
    acquireTimeoutMs: int(env, 'DUCKDB_POOL_ACQUIRE_TIMEOUT_MS', 5000, 1, 600_000),
    idleTimeoutMs: int(env, 'DUCKDB_POOL_IDLE_TIMEOUT_MS', 300_000, 1, 86_400_000),
    queryTimeoutMs: int(env, 'DUCKDB_QUERY_TIMEOUT_MS', 10_000, 0, 3_600_000),
    threads: int(env, 'DUCKDB_THREADS', DEFAULT_DUCKDB_THREADS, 1, 256),
    memoryLimit: memorySize(
      env,
      'DUCKDB_MEMORY_LIMIT',
      DEFAULT_DUCKDB_MEMORY_LIMIT,
      MIN_DUCKDB_MEMORY_LIMIT_BYTES,
    ),
    checkpointThreshold: memorySize(
      env,
      'DUCKDB_CHECKPOINT_THRESHOLD',
      DEFAULT_DUCKDB_CHECKPOINT_THRESHOLD,
      MIN_DUCKDB_CHECKPOINT_THRESHOLD_BYTES,
    ),
  };
}
