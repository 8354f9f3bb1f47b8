import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp } from '../apps/api/src/bootstrap';
import { runHttpLoad } from './support/http-load';

let BODY: any;
@Controller() class C { @Get('/x') x() { return BODY; } }
@Module({ controllers: [C] }) class M {}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'prof-'));
  const env = { ...process.env, DUCKDB_PATH: join(dir, 'x.duckdb'), LOG_LEVEL: process.env.LL ?? 'silent', CACHE_STORE: 'memory' };
  const { app } = await createApp(env);
  const f = app.getHttpAdapter().getInstance();
  let text = '';
  f.get('/raw/:usageType/active', (req, reply) => { reply.header('etag', '"1"').type('application/json; charset=utf-8').send(text); });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.getHttpServer().address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}/api/v1/usage-types/embedding/active`;
  text = await (await fetch(url)).text(); BODY = JSON.parse(text);
  const bare = await NestFactory.create<NestFastifyApplication>(M, new FastifyAdapter(), { logger: false, bodyParser: false });
  await bare.listen(0, '127.0.0.1');
  const bareUrl = `http://127.0.0.1:${(bare.getHttpServer().address() as AddressInfo).port}/x`;
  const sides: [string, string][] = [['bare', bareUrl], ['app', url], ['rawInApp', `http://127.0.0.1:${port}/raw/embedding/active`]];
  for (const [, u] of sides) await runHttpLoad({ url: u, connections: 50, durationS: 1 });
  for (let r = 0; r < 2; r++) for (const [n, u] of sides) {
    const s = await runHttpLoad({ url: u, connections: 50, durationS: 2.5 });
    console.log(n.padEnd(10), Math.round(s.perSecond), 'req/s', s.serverCpuUsPerRequest.toFixed(1), 'µs/req');
  }
  await app.close(); await bare.close();
}
main().catch((e) => { console.error(e); process.exit(1); });
