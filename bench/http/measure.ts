import { type HttpLoadOptions, type HttpLoadSample, runHttpLoad } from '../support/http-load';
import { processCpuUs, type ServerProcess } from './processes';
import type { BenchRoute } from './routes';

/** One autocannon window, with the server process's own CPU per response over it. */
export interface Window extends HttpLoadSample {
  /** CPU µs of the server's process (every thread, from /proc) per response. */
  childCpuUsPerRequest: number;
  /** The server's CPU µs over the window. */
  childCpuUs: number;
}

/** Timing of the measurement. */
export interface WindowSettings {
  connections: number;
  durationS: number;
  warmupS: number;
  rounds: number;
}

/** autocannon's options for `route` on `server`. */
export function loadOptions(
  server: ServerProcess,
  route: BenchRoute,
  connections: number,
  durationS: number,
): HttpLoadOptions {
  if (route.method === 'GET') {
    return { url: `${server.origin}${route.path}`, connections, durationS };
  }
  return {
    url: server.origin,
    connections,
    durationS,
    mix: [
      {
        method: route.method,
        path: route.path,
        body: route.body,
        headers: { 'content-type': 'application/json' },
      },
    ],
  };
}

/** One window of `options` on `server`, with the server's CPU read from /proc around it. */
export async function measureWindow(
  server: ServerProcess,
  options: HttpLoadOptions,
): Promise<Window> {
  const cpuBefore = processCpuUs(server.pid);
  const sample = await runHttpLoad(options);
  const childCpuUs = processCpuUs(server.pid) - cpuBefore;
  return {
    ...sample,
    childCpuUs,
    childCpuUsPerRequest: sample.requests === 0 ? 0 : childCpuUs / sample.requests,
  };
}

/** Windows by route name, then by target. */
export type RouteWindows<T extends string> = Record<string, Record<T, Window[]>>;

/**
 * Warms every target on every route, then runs `rounds` rounds; in each, every route runs one
 * window per target, the targets' order rotating by round and route, so that a slow spell of the
 * machine falls on every target alike.
 */
export async function measureRoutes<T extends string>(
  targets: Record<T, ServerProcess>,
  routes: readonly BenchRoute[],
  settings: WindowSettings,
  log: (line: string) => void,
): Promise<RouteWindows<T>> {
  const names = Object.keys(targets) as T[];
  const windows: RouteWindows<T> = {};
  for (const route of routes) {
    windows[route.name] = Object.fromEntries(names.map((n) => [n, []])) as unknown as Record<
      T,
      Window[]
    >;
    for (const name of names) {
      const connections = route.connections ?? settings.connections;
      await runHttpLoad(loadOptions(targets[name], route, connections, settings.warmupS));
    }
  }
  for (let round = 0; round < settings.rounds; round++) {
    for (const [r, route] of routes.entries()) {
      const connections = route.connections ?? settings.connections;
      const line: string[] = [];
      for (let i = 0; i < names.length; i++) {
        const name = names[(i + round + r) % names.length];
        const options = loadOptions(targets[name], route, connections, settings.durationS);
        const window = await measureWindow(targets[name], options);
        windows[route.name][name].push(window);
        line.push(`${name} ${Math.round(window.perSecond)}`);
      }
      log(`  round ${round + 1}, ${route.name}: ${line.join(', ')} req/s`);
    }
  }
  return windows;
}
