import { Session } from 'node:inspector';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { createApp } from '../apps/api/src/bootstrap';
import { runHttpLoad } from './support/http-load';

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'prof-'));
  const env = { ...process.env, DUCKDB_PATH: join(dir, 'x.duckdb'), LOG_LEVEL: process.env.LL ?? 'silent', CACHE_STORE: 'memory', CACHE_RESPONSE_ENTRIES: process.env.CRE ?? '1000' };
  const { app } = await createApp(env);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.getHttpServer().address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}${process.env.P ?? '/api/v1/usage-types/embedding/active'}`;
  console.log(await (await fetch(url)).text());
  await runHttpLoad({ url, connections: 50, durationS: 2 });
  const s = new Session(); s.connect();
  const post = (m: string, p?: object) => new Promise<any>((res, rej) => s.post(m, p, (e, r) => (e ? rej(e) : res(r))));
  if (process.env.PROF) { await post('Profiler.enable'); await post('Profiler.setSamplingInterval', { interval: 50 }); await post('Profiler.start'); }
  const r = await runHttpLoad({ url, connections: 50, durationS: 4 });
  console.log(Math.round(r.perSecond), 'req/s', r.serverCpuUsPerRequest.toFixed(1), 'µs/req');
  if (process.env.PROF) {
    const { profile } = await post('Profiler.stop');
    writeFileSync('/tmp/app.cpuprofile', JSON.stringify(profile));
    const self = new Map<string, number>(); const byPkg = new Map<string, number>();
    const dt = new Map<number, number>();
    profile.samples.forEach((id: number, i: number) => dt.set(id, (dt.get(id) ?? 0) + profile.timeDeltas[i]));
    let total = 0;
    for (const n of profile.nodes) {
      const t = dt.get(n.id) ?? 0; total += t;
      const cf = n.callFrame; const key = `${cf.functionName || '(anon)'} ${cf.url.replace(/.*node_modules\//, '').replace('/work/main/', '')}:${cf.lineNumber}`;
      self.set(key, (self.get(key) ?? 0) + t);
      const m = cf.url.match(/node_modules\/((@[^/]+\/)?[^/]+)/); const pkg = m ? m[1] : cf.url.startsWith('node:') ? 'node:' : cf.url.includes('/work/main/') ? 'ours:' + cf.url.replace(/.*\/work\/main\//, '').split('/').slice(0, 2).join('/') : cf.functionName || '(vm)';
      byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + t);
    }
    const top = (m: Map<string, number>, n: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `${(100 * v / total).toFixed(1).padStart(5)}% ${k}`).join('\n');
    console.log(top(byPkg, 30)); console.log('---'); console.log(top(self, 40));
  }
  await app.close();
}
main().catch((e) => { console.error(e); process.exit(1); });
