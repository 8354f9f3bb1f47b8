import { processCpuUs, type ServerProcess } from '../http/processes';
import {
  type HttpKindSample,
  type HttpLoadOptions,
  type HttpRequestSpec,
  runHttpLoad,
} from '../support/http-load';

/** How the mix is sent (see the header of `mix.bench.ts`). */
export type MixMode = 'split' | 'sequence';

/** Share of the connections (split) or of the requests (sequence) that write. */
export const WRITE_SHARE = 0.15;

/** What one half measured: every autocannon process of it together. */
export interface MixWindow {
  requests: number;
  non2xx: number;
  /** Transport errors and timeouts. */
  errors: number;
  elapsedMs: number;
  /** The server's CPU over the half (every thread, from /proc). */
  childCpuUs: number;
  /** `read` and `write`. */
  byKind: Record<string, HttpKindSample>;
}

/**
 * The autocannon runs of one half on `origin`: one process sending the whole sequence
 * (`sequence`), or two at once (`split`), one sending its reads on 85% of the connections, the
 * other its writes on the remaining 15%.
 */
export function mixLoads(
  origin: string,
  mix: readonly HttpRequestSpec[],
  mode: MixMode,
  connections: number,
  durationS: number,
): HttpLoadOptions[] {
  if (mode === 'sequence') return [{ url: origin, connections, durationS, mix }];
  const writers = Math.max(1, Math.round(connections * WRITE_SHARE));
  return [
    {
      url: origin,
      connections: connections - writers,
      durationS,
      mix: mix.filter((spec) => spec.kind === 'read'),
    },
    {
      url: origin,
      connections: writers,
      durationS,
      mix: mix.filter((spec) => spec.kind === 'write'),
    },
  ];
}

/** Runs `loads` at once against `server`, with its CPU read from /proc around them. */
export async function measureMix(
  server: ServerProcess,
  loads: readonly HttpLoadOptions[],
): Promise<MixWindow> {
  const cpuBefore = processCpuUs(server.pid);
  const samples = await Promise.all(loads.map((options) => runHttpLoad(options)));
  const window: MixWindow = {
    requests: 0,
    non2xx: 0,
    errors: 0,
    elapsedMs: 0,
    childCpuUs: processCpuUs(server.pid) - cpuBefore,
    byKind: {},
  };
  for (const sample of samples) {
    window.requests += sample.requests;
    window.non2xx += sample.non2xx;
    window.errors += sample.errors + sample.timeouts;
    window.elapsedMs = Math.max(window.elapsedMs, sample.elapsedMs);
    Object.assign(window.byKind, sample.byKind);
  }
  return window;
}
