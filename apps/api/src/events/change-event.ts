import type { EventChange } from '@model-configs/client';

/**
 * An event and one config's part of it (API.md §2, Change stream): the shapes the client library
 * publishes for consumers; the service produces exactly those.
 */
export type { ChangeEvent, EventChange } from '@model-configs/client';

/** A change set collected during its transaction, waiting for its commit and its id. */
export interface PendingChange {
  changeSet: string;
  /** The newest history row written for it. */
  historySeq: number;
  operation: string;
  actor: string | null;
  changes: EventChange[];
}
