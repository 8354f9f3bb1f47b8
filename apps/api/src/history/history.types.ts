import type { ModelConfig } from '../model-configs/model-config.types';
import type { HistoryOperation } from './change-context';

/** What a history row did to its config. */
export type HistoryAction = 'create' | 'update' | 'delete';

/** One change of one config, as the repository reports it (`before`/`after` null: absent). */
export interface ConfigChange {
  action: HistoryAction;
  before: ModelConfig | null;
  after: ModelConfig | null;
}

/** The change that creates `after`. */
export const createOf = (after: ModelConfig): ConfigChange => ({
  action: 'create',
  before: null,
  after,
});

/** The change that deletes `before`. */
export const deleteOf = (before: ModelConfig): ConfigChange => ({
  action: 'delete',
  before,
  after: null,
});

/** One history row as the API returns it (API.md §2, History). */
export interface HistoryEntry {
  /** Increases with every change; the cursor of the history pages. */
  seq: number;
  /** Shared by every row of one operation (a chain replace, an import). */
  changeSet: string;
  configId: string;
  usageType: string;
  priority: number;
  /** The config's version after the change (for a delete: the version deleted). */
  version: number;
  operation: HistoryOperation;
  action: HistoryAction;
  before: ModelConfig | null;
  after: ModelConfig | null;
  /** The API key's label (`API_KEYS`), `cli`, `system`, or null when no key is configured. */
  actor: string | null;
  requestId: string | null;
  changedAt: string;
}

/** A page of history, newest first; `nextCursor` asks for the next (older) page. */
export interface HistoryPage {
  items: HistoryEntry[];
  nextCursor: string | null;
}
