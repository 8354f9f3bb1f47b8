import { Injectable, Optional } from '@nestjs/common';
import {
  HealthIndicatorService,
  type HealthIndicatorResult,
  type HealthIndicatorStatus,
} from '@nestjs/terminus';
import { ResiliencePolicies, type CircuitInfo, DATABASE_CIRCUIT } from '@lib/resilience';

/**
 * Terminus indicator for the circuit breakers: `down` while the `database` circuit is open (the
 * instance fails every database call fast, so it should leave rotation); other circuits are
 * listed but do not fail readiness. Present only when `ResilienceModule` is registered globally.
 */
@Injectable()
export class CircuitsHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    @Optional() private readonly policies?: ResiliencePolicies,
  ) {}

  /** True when the application has resilience policies. */
  isAvailable(): boolean {
    return this.policies !== undefined;
  }

  /** Every circuit, as `GET /health/circuits` lists them. */
  list(): CircuitInfo[] {
    return this.policies?.list() ?? [];
  }

  /** Reports the circuits under `key` (default `circuits`). */
  isHealthy<const Key extends string = 'circuits'>(
    key: Key = 'circuits' as Key,
  ): HealthIndicatorResult<
    Key,
    HealthIndicatorStatus,
    { circuits: CircuitInfo[]; message?: string }
  > {
    const circuits = this.list();
    const database = circuits.find((circuit) => circuit.name === DATABASE_CIRCUIT);
    const indicator = this.health.check(key);
    if (database?.state === 'open') {
      return indicator.down({ message: 'The database circuit is open.', circuits });
    }
    return indicator.up({ circuits });
  }
}
