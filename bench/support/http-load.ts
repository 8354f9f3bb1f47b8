import { spawn } from 'node:child_process';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { machineBusyMs } from './load';

/** One request of a mix: what autocannon sends. */
export interface HttpRequestSpec {
  method: 'GET' | 'PATCH' | 'POST' | 'PUT' | 'DELETE';
  /** Path and query, e.g. `/api/v1/usage-types/embedding/active`. */
  path: string;
  /** Request body; every `{{n}}` becomes a number unique within the run. */
  body?: string;
  headers?: Record<string, string>;
  /**
   * A label (e.g. `read`, `write`): when any request of a mix has one, the sample also reports
   * counts and latencies per label ({@link HttpLoadSample.byKind}).
   */
  kind?: string;
}

/** Counts and latencies of one kind of request of a mix (latency from send to last byte). */
export interface HttpKindSample {
  requests: number;
  ok: number;
  non2xx: number;
  /** 2xx responses per second of the load's duration. */
  perSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMeanMs: number;
}

/** Options of {@link runHttpLoad}. */
export interface HttpLoadOptions {
  /** `http://127.0.0.1:<port>/<path>`: the origin, and the path when there is no `mix`. */
  url: string;
  /** Keep-alive connections, each with one request in flight (no pipelining). */
  connections: number;
  durationS: number;
  /** Requests sent in this order, over and over, shared by every connection. */
  mix?: readonly HttpRequestSpec[];
}

/** What one autocannon run measured, with the server process's own figures for its window. */
export interface HttpLoadSample {
  /** Responses received. */
  requests: number;
  /** 2xx responses. */
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** The load's duration as autocannon measured it. */
  elapsedMs: number;
  /** 2xx responses per second. */
  perSecond: number;
  /** Latency of 2xx responses, ms. */
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMeanMs: number;
  /** CPU time of this (the server's) process, every thread, per response received, in µs. */
  serverCpuUsPerRequest: number;
  /** Event-loop utilization of this process in the window (0–1). */
  serverEventLoopUtilization: number;
  /** Share of the machine (0–1, all cores) the load generator used. */
  clientCpuShare: number;
  /** Share of the machine other processes used in the window. */
  foreignCpuShare: number;
  /** Per {@link HttpRequestSpec.kind}, when the mix labels its requests. */
  byKind?: Record<string, HttpKindSample>;
}

/** The autocannon child: reads its options from stdin, prints START, then one JSON line. */
const CHILD = `
const autocannon = require(process.argv[1]);
let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => (input += chunk));
process.stdin.on('end', () => {
  const o = JSON.parse(input);
  const opts = { url: o.url, connections: o.connections, duration: o.durationS, pipelining: 1 };
  const kinds = o.mix && o.mix.some((s) => s.kind) ? {} : undefined;
  if (o.mix) {
    const mix = o.mix;
    let i = 0;
    let n = 0;
    opts.requests = [{
      setupRequest: (req, context) => {
        const spec = mix[i];
        i = (i + 1) % mix.length;
        const next = Object.assign({}, req, { method: spec.method, path: spec.path });
        next.headers = Object.assign({}, req.headers, spec.headers || {});
        if (spec.body !== undefined) next.body = spec.body.split('{{n}}').join(String(n++));
        if (kinds) {
          context.kind = spec.kind || 'other';
          context.sentAt = performance.now();
        }
        return next;
      },
      onResponse: kinds && ((status, body, context) => {
        const k = kinds[context.kind] || (kinds[context.kind] = { requests: 0, ok: 0, lat: [] });
        k.requests++;
        if (status >= 200 && status < 300) {
          k.ok++;
          k.lat.push(performance.now() - context.sentAt);
        }
      }),
    }];
  }
  const summarize = (k) => {
    const lat = k.lat.sort((a, b) => a - b);
    const at = (q) => (lat.length === 0 ? 0 : lat[Math.min(lat.length - 1, Math.floor(q * lat.length))]);
    const mean = lat.length === 0 ? 0 : lat.reduce((a, b) => a + b, 0) / lat.length;
    return { requests: k.requests, ok: k.ok, p50: at(0.5), p99: at(0.99), mean };
  };
  const cpuStart = process.cpuUsage();
  process.stdout.write('START\\n');
  autocannon(opts, (error, r) => {
    if (error) {
      process.stderr.write(String(error && error.stack || error));
      process.exit(1);
    }
    const cpu = process.cpuUsage(cpuStart);
    process.stdout.write(JSON.stringify({
      requests: r.requests.total, ok: r['2xx'], non2xx: r.non2xx, errors: r.errors,
      timeouts: r.timeouts, duration: r.duration, p50: r.latency.p50, p99: r.latency.p99,
      mean: r.latency.average, cpuUs: cpu.user + cpu.system,
      byKind: kinds && Object.fromEntries(Object.entries(kinds).map(([n, k]) => [n, summarize(k)])),
    }) + '\\n');
  });
});
`;

interface ChildResult {
  requests: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  duration: number;
  p50: number;
  p99: number;
  mean: number;
  cpuUs: number;
  byKind?: Record<string, { requests: number; ok: number; p50: number; p99: number; mean: number }>;
}

/**
 * Runs autocannon in a child process against a server running in this process, so the load
 * generator never shares the server's event loop, and reports the server's own CPU per request
 * for the load's window (from the child's START line to its result).
 *
 * @example
 * const sample = await runHttpLoad({ url: `${origin}/api/v1/x`, connections: 50, durationS: 3 });
 */
export function runHttpLoad(options: HttpLoadOptions): Promise<HttpLoadSample> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', CHILD, require.resolve('autocannon')], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let start: WindowStart | undefined;
    let result: HttpLoadSample | undefined;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      if (!start && stdout.includes('START\n')) {
        start = {
          machine: machineBusyMs(),
          cpu: process.cpuUsage(),
          elu: performance.eventLoopUtilization(),
          at: performance.now(),
        };
      }
      const lines = stdout.split('\n');
      const last = lines.length >= 2 ? lines[lines.length - 2] : '';
      if (start && !result && last.startsWith('{')) {
        result = toSample(JSON.parse(last) as ChildResult, start);
      }
    });
    child.stderr.on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (result && code === 0) resolve(result);
      else reject(new Error(`autocannon exited with ${code}: ${stderr.slice(-2000)}`));
    });
    child.stdin.end(JSON.stringify(options));
  });
}

/** This process's figures when the child's load began. */
interface WindowStart {
  machine: number;
  cpu: NodeJS.CpuUsage;
  elu: ReturnType<typeof performance.eventLoopUtilization>;
  at: number;
}

/** The child's result with this (the server's) process's own figures since `start`. */
function toSample(r: ChildResult, start: WindowStart): HttpLoadSample {
  const cpu = process.cpuUsage(start.cpu);
  const elu = performance.eventLoopUtilization(start.elu);
  const machineMs = machineBusyMs() - start.machine;
  const windowMs = performance.now() - start.at;
  const ownMs = (cpu.user + cpu.system) / 1000;
  const clientMs = r.cpuUs / 1000;
  const capacity = windowMs * os.cpus().length;
  return {
    requests: r.requests,
    ok: r.ok,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    elapsedMs: r.duration * 1000,
    perSecond: r.ok / r.duration,
    latencyP50Ms: r.p50,
    latencyP99Ms: r.p99,
    latencyMeanMs: r.mean,
    serverCpuUsPerRequest: r.requests === 0 ? 0 : (cpu.user + cpu.system) / r.requests,
    serverEventLoopUtilization: elu.utilization,
    clientCpuShare: clientMs / capacity,
    foreignCpuShare: Math.max(0, (machineMs - ownMs - clientMs) / capacity),
    byKind: r.byKind && kindSamples(r.byKind, r.duration),
  };
}

/** The child's per-kind figures as {@link HttpKindSample}s over a load of `durationS`. */
function kindSamples(
  byKind: NonNullable<ChildResult['byKind']>,
  durationS: number,
): Record<string, HttpKindSample> {
  const out: Record<string, HttpKindSample> = {};
  for (const [kind, k] of Object.entries(byKind)) {
    out[kind] = {
      requests: k.requests,
      ok: k.ok,
      non2xx: k.requests - k.ok,
      perSecond: k.ok / durationS,
      latencyP50Ms: k.p50,
      latencyP99Ms: k.p99,
      latencyMeanMs: k.mean,
    };
  }
  return out;
}
