import type { HistoryAction } from '../history/history.types';
import type { ModelConfig } from '../model-configs/model-config.types';

/** One config's part of a change event. */
export interface EventChange {
  action: HistoryAction;
  configId: string;
  usageType: string;
  /** For a config moved to another usage type: the one it left. */
  movedFrom?: string;
  priority: number;
  /** The config's version after the change (for a delete, the version deleted). */
  version: number;
  /** The config as it is now; null when deleted. */
  config: ModelConfig | null;
}

/** One committed change (one operation), as the stream, the log and Redis carry it (API.md §2). */
export interface ChangeEvent {
  /** Increases by one with every committed change, in commit order. */
  id: number;
  operation: string;
  actor: string | null;
  committedAt: string;
  /** Every usage type the change touched (both, for a config moved from one to another). */
  usageTypes: string[];
  changes: EventChange[];
}

/** A change set collected during its transaction, waiting for its commit and its id. */
export interface PendingChange {
  changeSet: string;
  /** The newest history row written for it. */
  historySeq: number;
  operation: string;
  actor: string | null;
  changes: EventChange[];
}
