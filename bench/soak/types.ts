import type { ModelConfig } from '../../apps/api/src/model-configs/model-config.types';
import type { ProbeSample } from '../support/memory-probe';

/** The application's API prefix. */
export const API = '/api/v1';
/** Usage types written to, one lane each (`soak_00` … `soak_11`). */
export const LANES = 12;
/** Priorities 1..MAX_PRIORITY of each lane are used. */
export const MAX_PRIORITY = 40;
/** A lane with this many configs deletes instead of adding. */
export const LANE_CAPACITY = 30;
/** The providers configs are created with (and list filters pick from). */
export const PROVIDERS = ['ollama', 'openrouter', 'openai', 'anthropic'] as const;
/** Hard bound on `--duration`, whatever the options say. */
export const MAX_DURATION_S = 3_600;
/** Hard bound on `--connections`, whatever the options say. */
export const MAX_CONNECTIONS = 256;
/** A request without an answer after this long is a transport error. */
export const REQUEST_TIMEOUT_MS = 30_000;
/** Deleted ids checked (404) at the end: the most recent ones. */
export const DELETED_IDS_KEPT = 2_000;

/** The benchmark's options, from the command line (see the benchmark's `options`). */
export interface Settings {
  durationS: number;
  connections: number;
  writeShare: number;
  growthLimitMiB: number;
  maxRequests: number;
  /** Extra app variables (`--env=A=1,B=2`). */
  env: Record<string, string>;
  /** Runs the server with `--expose-gc` and forces a full GC before each printed line. */
  gc: boolean;
  /**
   * `node` options for the server: those of `npm start` (package.json), or
   * `--node-options="--max-old-space-size=256"` instead.
   */
  nodeOptions: string[];
  /** Preload the memory probe (V8 and DuckDB figures); on unless `--probe=false`. */
  probe: boolean;
  /** Run `main.ts` with ts-node instead of a compiled build. */
  tsNode: boolean;
  /** Build the app from this checkout instead (e.g. an unchanged copy, for a before/after). */
  appRoot?: string;
}

/** What a lane knows a config to be (from the acknowledgements of its writes). */
export type Expected = Omit<ModelConfig, 'usageType' | 'createdAt' | 'updatedAt'>;

/** A config as the server returns it (timestamps are not compared). */
export type ServerConfig = Omit<ModelConfig, 'createdAt' | 'updatedAt'>;

/** One usage type: its writes go one at a time, and its slots hold what they acknowledged. */
export interface Lane {
  usageType: string;
  busy: boolean;
  slots: Map<number, Expected>;
}

/** An HTTP answer: status and body text. */
export interface Reply {
  status: number;
  text: string;
}

/** One RSS sample of the server, taken each second of the load. */
export interface Second {
  /** Seconds since the load started. */
  t: number;
  rss: number;
  probe?: ProbeSample;
}

/** Bytes to MiB. */
export const mib = (bytes: number): number => bytes / (1024 * 1024);

/** Bytes as MiB with one decimal, or `-` when unknown. */
export const fmtMiB = (bytes: number | undefined): string =>
  bytes === undefined ? '-' : mib(bytes).toFixed(1);
