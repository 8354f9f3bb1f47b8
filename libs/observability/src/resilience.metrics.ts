import { Injectable, Optional } from '@nestjs/common';
import { ResiliencePolicies } from '@lib/resilience';
import { MetricsService } from './metrics.service';
import { type Sample, observedGauge, observedLabelledCounter } from './stats.metrics';

const CIRCUIT_STATES = ['closed', 'open', 'half-open'] as const;

/**
 * Circuit-breaker and retry metrics of `@lib/resilience`, read at scrape time:
 * `circuit_breaker_state{circuit,state}` (1 for the current state), `circuit_breaker_successes_total`,
 * `circuit_breaker_rejected_total`, `circuit_breaker_failures` (failures since it last closed),
 * `retry_calls_total{dependency}`, `retry_retries_total{dependency}` and
 * `retry_budget_exhausted_total{dependency}`. Registered only when the application has
 * `ResilienceModule` registered globally.
 */
@Injectable()
export class ResilienceMetrics {
  constructor(metrics: MetricsService, @Optional() policies?: ResiliencePolicies) {
    if (!policies) return;
    observedGauge(
      metrics,
      'circuit_breaker_state',
      'State of each circuit breaker: 1 for the current state, 0 for the others.',
      () =>
        policies
          .list()
          .flatMap((circuit) =>
            CIRCUIT_STATES.map((state): Sample<'circuit' | 'state'> => [
              { circuit: circuit.name, state },
              circuit.state === state ? 1 : 0,
            ]),
          ),
      ['circuit', 'state'],
    );
    observedGauge(
      metrics,
      'circuit_breaker_failures',
      'Failures counted by each circuit since it last closed (consecutive, while closed).',
      () => policies.list().map((circuit) => [{ circuit: circuit.name }, circuit.failures]),
      ['circuit'],
    );
    const perCircuit = [
      ['successes', 'Calls each circuit let through that succeeded.', 'successes'],
      ['rejected', 'Calls each circuit rejected without attempting them.', 'rejected'],
    ] as const;
    for (const [name, help, field] of perCircuit) {
      observedLabelledCounter(metrics, `circuit_breaker_${name}_total`, help, ['circuit'], () =>
        policies.list().map((circuit) => [{ circuit: circuit.name }, circuit[field]]),
      );
    }
    const perDependency = [
      ['calls', 'Calls made through each retry policy (first attempts).', 'calls'],
      ['retries', 'Retries made, per dependency.', 'retries'],
      [
        'budget_exhausted',
        'Retries refused because the dependency’s budget was spent.',
        'budgetExhausted',
      ],
    ] as const;
    for (const [name, help, field] of perDependency) {
      observedLabelledCounter(metrics, `retry_${name}_total`, help, ['dependency'], () =>
        policies.retryStats().map((stats) => [{ dependency: stats.name }, stats[field]]),
      );
    }
  }
}
