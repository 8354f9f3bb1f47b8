import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  ConsecutiveBreaker,
  ExponentialBackoff,
  TimeoutStrategy,
  circuitBreaker,
  handleAll,
  retry,
  timeout,
  wrap,
} from 'cockatiel';
import { CircuitBreaker, ResilienceModule, Retry, Timeout } from '@lib/resilience';
import type { Benchmark, BenchContext } from './support/benchmark';
import { formatInt, markdownTable, median, round } from './support/report';

/** A provider whose method carries the whole stack, as applications write it. */
@Injectable()
class Guarded {
  @Retry({ dependency: 'bench' })
  @CircuitBreaker('bench')
  @Timeout(1000)
  call(): Promise<number> {
    return Promise.resolve(1);
  }
}

type Side = { name: string; call: () => Promise<unknown> };

async function timeCalls(side: Side, calls: number): Promise<number> {
  const started = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) await side.call();
  return Number(process.hrtime.bigint() - started) / calls;
}

/**
 * Per-call overhead of retry + circuit breaker + timeout: `@lib/resilience` (the decorated
 * method, as applications use it) against the same stack built from raw cockatiel policies and
 * against a bare call, in one run, alternating sides across rounds.
 */
const benchmark: Benchmark = {
  name: 'resilience',
  description:
    'per-call cost of the retry + breaker + timeout stack vs raw cockatiel and a bare call',
  options: ['--calls=<n> calls per side per round (default 200000)', '--rounds=<n> (default 7)'],
  async run(ctx: BenchContext): Promise<void> {
    const calls = ctx.args.number('calls', 200_000);
    const rounds = ctx.args.number('rounds', 7);
    const moduleRef = await Test.createTestingModule({
      imports: [ResilienceModule.forRoot({ isGlobal: true, guardDatabase: false })],
      providers: [Guarded],
    }).compile();
    await moduleRef.init();
    const guarded = moduleRef.get(Guarded);
    const bare = () => Promise.resolve(1);
    const cockatiel = wrap(
      retry(handleAll, {
        maxAttempts: 3,
        backoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 2000 }),
      }),
      circuitBreaker(handleAll, { halfOpenAfter: 30_000, breaker: new ConsecutiveBreaker(5) }),
      timeout(1000, TimeoutStrategy.Aggressive),
    );
    const sides: Side[] = [
      { name: 'bare async call', call: bare },
      {
        name: 'raw cockatiel: wrap(retry, circuitBreaker, timeout)',
        call: () => cockatiel.execute(bare),
      },
      { name: '@lib/resilience: @Retry @CircuitBreaker @Timeout', call: () => guarded.call() },
    ];
    for (const side of sides) await timeCalls(side, Math.min(20_000, calls)); // warm-up
    const samples = sides.map(() => [] as number[]);
    for (let round = 0; round < rounds; round++) {
      // Rotate the order so no side always runs first (or after the garbage of another).
      for (let k = 0; k < sides.length; k++) {
        const index = (round + k) % sides.length;
        samples[index].push(await timeCalls(sides[index], calls));
      }
    }
    await moduleRef.close();
    const ns = samples.map(median);
    const oursOverCockatiel = median(samples[2].map((value, i) => value - samples[1][i])) / 1000;
    ctx.log(
      `## resilience: ${formatInt(calls)} sequential calls per side per round, ${rounds} rounds`,
    );
    ctx.log(
      markdownTable(
        ['side', 'ns/call (median)', 'over bare, ns', 'calls/s'],
        sides.map((side, i) => [
          side.name,
          formatInt(ns[i]),
          formatInt(ns[i] - ns[0]),
          formatInt(1e9 / ns[i]),
        ]),
      ),
    );
    const verdict = oursOverCockatiel < 1 ? 'MET' : 'MISSED';
    ctx.log(
      `Verdict on "our layer adds under 1 µs per call over raw cockatiel": ${verdict} (${round(oursOverCockatiel, 3)} µs, median of per-round differences).`,
    );
    const path = await ctx.writeResults('resilience', {
      calls,
      rounds,
      sides: sides.map((s) => s.name),
      samples,
      oursOverCockatiel,
    });
    ctx.log(`Results written to ${path}`);
  },
};

export default benchmark;
