/** Counters of the transaction manager, shown in `/health/database`. */
export interface TransactionStats {
  started: number;
  committed: number;
  rolledBack: number;
  retried: number;
  conflicts: number;
  timeouts: number;
  hookFailures: number;
  active: number;
  avgDurationMs: number;
  maxDurationMs: number;
}
