/** Options of `HealthModule.forRoot` / `forRootAsync`. */
export interface HealthModuleOptions {
  /**
   * How long the database probe (`SELECT 1`) may take, waiting for a pooled connection included,
   * before the `database` indicator reports `down`. A positive integer. Default 2000 ms.
   */
  databaseTimeoutMs?: number;
  /** Acquire timeouts within `poolTimeoutWindowMs` that make the `pool` indicator `down`. Default 3. */
  poolTimeoutThreshold?: number;
  /** The window of `poolTimeoutThreshold`. Default 30000 ms. */
  poolTimeoutWindowMs?: number;
}
