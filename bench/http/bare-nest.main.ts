/**
 * A bare Nest route per measured route: Nest 11 on the app's Fastify adapter options
 * (`fastifyAdapterOptions`, as `startBareApp` of the cache benchmark) and nothing else: no
 * guard, pipe, filter, interceptor, hook, cache or database. Each handler returns the fixed body
 * of its request (`BODIES_FILE`: `{"<METHOD> <path?query>": body}`) as an object, which Nest
 * serializes. `PORT` (0 = any), `HOST`; prints `LISTENING <port>`.
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { Controller, Get, Module, NotFoundException, Put, Req } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';
import { fastifyAdapterOptions } from '../../apps/api/src/bootstrap';
import { loadConfig } from '../../apps/api/src/config/app-config';

const bodies = new Map<string, unknown>(
  Object.entries(JSON.parse(readFileSync(process.env.BODIES_FILE ?? '', 'utf8')) as object),
);

function bodyOf(request: FastifyRequest): unknown {
  const body = bodies.get(`${request.method} ${request.url}`);
  if (body === undefined) throw new NotFoundException();
  return body;
}

@Controller('api/v1')
class BareController {
  @Get('usage-types/:usageType/active')
  active(@Req() request: FastifyRequest): unknown {
    return bodyOf(request);
  }

  @Get('usage-types/:usageType/fallback-chain')
  fallbackChain(@Req() request: FastifyRequest): unknown {
    return bodyOf(request);
  }

  @Put('usage-types/:usageType/chain')
  replaceChain(@Req() request: FastifyRequest): unknown {
    return bodyOf(request);
  }

  @Get('model-configs')
  list(@Req() request: FastifyRequest): unknown {
    return bodyOf(request);
  }

  @Get('model-configs/grouped')
  grouped(@Req() request: FastifyRequest): unknown {
    return bodyOf(request);
  }

  @Get('model-configs/:id')
  byId(@Req() request: FastifyRequest): unknown {
    return bodyOf(request);
  }
}

@Controller('health')
class BareHealthController {
  @Get('live')
  live(@Req() request: FastifyRequest): unknown {
    return bodyOf(request);
  }
}

@Module({ controllers: [BareController, BareHealthController] })
class BareModule {}

async function main(): Promise<void> {
  const adapter = new FastifyAdapter(fastifyAdapterOptions(loadConfig({})));
  const app = await NestFactory.create<NestFastifyApplication>(BareModule, adapter, {
    bodyParser: false,
    abortOnError: false,
    logger: false,
  });
  await app.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1');
  const address = app.getHttpServer().address() as AddressInfo;
  process.stdout.write(`LISTENING ${address.port}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
