import os from 'node:os';
import { join } from 'node:path';
import { version as duckdbVersion } from '@duckdb/node-api';
import { HANDWRITTEN_ENTRY, type ServerBuild } from './build';
import { copySeed, type Seed } from './dataset';
import { type ServerProcess, startAppServer, startEntryServer } from './processes';

/**
 * Starts this service and the hand-written server, each on its own copy of the seeded file in
 * `dir`; each is pushed onto `started` as soon as it runs (for the caller's `finally`).
 */
export async function startPair(
  build: ServerBuild,
  seed: Seed,
  dir: string,
  started: ServerProcess[],
): Promise<{ service: ServerProcess; hand: ServerProcess }> {
  const service = await startAppServer(build.app, copySeed(seed, join(dir, 'service.duckdb')));
  started.push(service);
  const entry = build.entries.get(HANDWRITTEN_ENTRY);
  if (!entry) throw new Error('The hand-written server was not compiled');
  const hand = await startEntryServer('hand-written', entry, {
    DUCKDB_PATH: copySeed(seed, join(dir, 'hand.duckdb')),
  });
  started.push(hand);
  return { service, hand };
}

/** The machine and versions, for the results file. */
export function benchEnvironment(): Record<string, unknown> {
  return {
    node: process.version,
    duckdb: duckdbVersion(),
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    loadAverage: os.loadavg(),
  };
}
