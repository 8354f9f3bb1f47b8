import { Controller, Get, NotFoundException } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { type Observable, defer, of, throwError } from 'rxjs';
import { DatabaseIoError } from '@lib/duckdb';
import {
  ResiliencePolicies,
  DatabaseExceptionHandler,
  Retry,
  UseResilience,
  ResilienceModule,
  type Clock,
} from '@lib/resilience';
import { HttpExceptionFilter } from './http-exception.filter';

class FakeClock implements Clock {
  private ms = 0;
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

const RESET_MS = 10_000;

@Controller('r')
class ResilientController {
  calls = 0;
  failuresLeft = 0;
  private release: (() => void) | undefined;

  reset(): void {
    this.calls = 0;
    this.failuresLeft = 0;
    this.release?.();
  }

  @Get('flaky')
  @UseResilience({ circuit: 'flaky', retry: { maxRetries: 3, baseDelayMs: 1 } })
  async flaky(): Promise<{ calls: number }> {
    this.calls++;
    if (this.failuresLeft-- > 0) throw new DatabaseIoError();
    return { calls: this.calls };
  }

  @Get('broken')
  @UseResilience({ circuit: 'broken' })
  async broken(): Promise<{ ok: true }> {
    this.calls++;
    if (this.failuresLeft > 0) throw new DatabaseIoError();
    return { ok: true };
  }

  @Get('slow')
  @UseResilience({ circuit: 'slow', timeoutMs: 150 })
  slow(): Promise<{ late: true }> {
    this.calls++;
    return new Promise((resolve) => (this.release = () => resolve({ late: true })));
  }

  @Get('missing')
  @UseResilience({ circuit: 'missing', retry: { maxRetries: 3, baseDelayMs: 1 } })
  async missing(): Promise<never> {
    this.calls++;
    throw new NotFoundException();
  }

  @Get('observable')
  @UseResilience({ circuit: 'observable', retry: { maxRetries: 2, baseDelayMs: 1 } })
  observable(): Observable<{ calls: number }> {
    return defer(() => {
      this.calls++;
      return this.failuresLeft-- > 0
        ? throwError(() => new DatabaseIoError())
        : of({ calls: this.calls });
    });
  }

  // @Retry below @Get: the wrapped method must keep the route metadata @Get put on the original.
  @Retry({ maxRetries: 2, baseDelayMs: 1 })
  @Get('decorated')
  async decorated(): Promise<{ calls: number }> {
    this.calls++;
    if (this.failuresLeft-- > 0) throw new DatabaseIoError();
    return { calls: this.calls };
  }
}

@Controller('c')
@UseResilience({ circuit: 'class-level', retry: { maxRetries: 1, baseDelayMs: 1 } })
class ClassLevelController {
  calls = 0;

  @Get('inherited')
  async inherited(): Promise<never> {
    this.calls++;
    throw new DatabaseIoError();
  }

  @Get('overridden')
  @UseResilience({ circuit: 'overridden', retry: { maxRetries: 2, baseDelayMs: 1 } })
  async overridden(): Promise<never> {
    this.calls++;
    throw new DatabaseIoError();
  }
}

interface Reply {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
  ms: number;
}

describe('ResilienceInterceptor via @UseResilience over real HTTP (Fastify)', () => {
  let app: NestFastifyApplication;
  let url: string;
  let controller: ResilientController;
  let classLevel: ClassLevelController;
  let policies: ResiliencePolicies;
  const clock = new FakeClock();

  const get = async (path: string): Promise<Reply> => {
    const started = performance.now();
    const res = await fetch(`${url}${path}`);
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      body: JSON.parse(text) as Record<string, unknown>,
      ms: performance.now() - started,
    };
  };

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        ResilienceModule.forRoot({
          isGlobal: true,
          clock,
          random: () => 0,
          guardDatabase: false,
          breaker: { failureThreshold: 3, resetTimeoutMs: RESET_MS },
        }),
      ],
      controllers: [ResilientController, ClassLevelController],
    }).compile();
    app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), {
      logger: false,
    });
    app.useGlobalFilters(new HttpExceptionFilter(app.get(DatabaseExceptionHandler)));
    await app.listen(0, '127.0.0.1');
    const address = app.getHttpServer().address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    url = `http://127.0.0.1:${address.port}`;
    controller = app.get(ResilientController);
    classLevel = app.get(ClassLevelController);
    policies = app.get(ResiliencePolicies);
  });

  afterAll(async () => {
    controller?.reset();
    await app?.close();
  });

  beforeEach(() => {
    controller.reset();
    classLevel.calls = 0;
  });

  it('retries a transient failure and answers 200', async () => {
    controller.failuresLeft = 2;
    const reply = await get('/r/flaky');
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ calls: 3 });
  });

  it('retries an Observable handler by subscribing again', async () => {
    controller.failuresLeft = 1;
    const reply = await get('/r/observable');
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ calls: 2 });
  });

  it('never retries a 4xx, and a 4xx does not count against the circuit', async () => {
    for (let i = 0; i < 5; i++) {
      const reply = await get('/r/missing');
      expect(reply.status).toBe(404);
      expect(reply.body.code).toBe('NOT_FOUND');
    }
    expect(controller.calls).toBe(5);
    expect(policies.get('missing').info()).toMatchObject({ state: 'closed', failures: 0 });
  });

  it('opens the circuit after 3 failures: then 503 DATABASE_UNAVAILABLE with Retry-After, without calling the handler', async () => {
    controller.failuresLeft = 1;
    for (let i = 0; i < 3; i++) {
      const reply = await get('/r/broken');
      expect(reply.status).toBe(503);
      expect(reply.body.code).toBe('DATABASE_UNAVAILABLE');
    }
    expect(controller.calls).toBe(3);
    expect(policies.get('broken').state).toBe('open');
    clock.advance(4_000);
    for (let i = 0; i < 5; i++) {
      const reply = await get('/r/broken');
      expect(reply.status).toBe(503);
      expect(reply.body).toMatchObject({
        statusCode: 503,
        error: 'Service Unavailable',
        code: 'DATABASE_UNAVAILABLE',
      });
      expect(reply.headers.get('retry-after')).toBe('6');
    }
    expect(controller.calls).toBe(3);
    // Half-open after the reset timeout: the trial fails, the circuit opens again.
    clock.advance(6_000);
    expect((await get('/r/broken')).status).toBe(503);
    expect(controller.calls).toBe(4);
    expect(policies.get('broken').state).toBe('open');
    expect((await get('/r/broken')).headers.get('retry-after')).toBe('10');
    // The dependency recovers: the next trial closes the circuit.
    controller.failuresLeft = 0;
    clock.advance(RESET_MS);
    const recovered = await get('/r/broken');
    expect(recovered.status).toBe(200);
    expect(recovered.body).toEqual({ ok: true });
    expect(policies.get('broken').state).toBe('closed');
  });

  it('answers 504 DATABASE_TIMEOUT when the handler outruns timeoutMs', async () => {
    const reply = await get('/r/slow');
    expect(reply.status).toBe(504);
    expect(reply.body.code).toBe('DATABASE_TIMEOUT');
    expect(reply.ms).toBeLessThan(1_000);
    expect(controller.calls).toBe(1);
  });

  it('keeps the route of a controller method wrapped by @Retry and retries it', async () => {
    controller.failuresLeft = 1;
    const reply = await get('/r/decorated');
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ calls: 2 });
  });

  it('applies a controller-level @UseResilience to its handlers', async () => {
    const reply = await get('/c/inherited');
    expect(reply.status).toBe(503);
    expect(classLevel.calls).toBe(2);
    expect(policies.list()).toContainEqual(
      expect.objectContaining({ name: 'class-level', failures: 2 }),
    );
  });

  it('a handler-level @UseResilience overrides the controller’s: one policy, not both nested', async () => {
    // A high threshold, so that only the retry policy bounds the calls.
    policies.get('overridden', { failureThreshold: 100 });
    const reply = await get('/c/overridden');
    expect(reply.status).toBe(503);
    // maxRetries 2: at most 3 calls. Nested interceptors would make (1 + 2) × (1 + 2) = 9.
    expect({
      calls: classLevel.calls,
      failures: policies.get('overridden').info().failures,
    }).toEqual({ calls: 3, failures: 3 });
  });
});
