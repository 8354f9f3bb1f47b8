import {
  type BeforeApplicationShutdown,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { Subject } from 'rxjs';
import { DuckDbClient, PoolDrainingError, currentTransaction } from '@lib/duckdb';
import { TransactionHost } from '@lib/transactions';
import type { ModelConfig } from '../model-configs/model-config.types';
import type { ChangeEvent, EventChange, PendingChange } from './change-event';
import { EVENTS_SQL } from './events.sql';

/** How long a failed append waits before it is tried again: doubling from 1 s to 30 s. */
const APPEND_RETRY_MS = { first: 1_000, max: 30_000 };

/** What {@link ChangeLog.since} answers. */
export interface EventsSince {
  events: ChangeEvent[];
  /** The newest id when asked. */
  head: number;
  /** True when events after `since` were pruned: the caller must refetch everything. */
  reset: boolean;
}

/**
 * The change stream's source: collects each transaction's changes (the history repository hands
 * them over), and once the transaction commits gives them the next id, appends them to
 * `model_config_events` and only then publishes them to {@link events}, one at a time, in commit
 * order. Rolled-back transactions publish nothing. Ids are consecutive: a gap seen by a consumer
 * means it missed an event.
 */
@Injectable()
export class ChangeLog implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('ChangeLog');
  private readonly subject = new Subject<ChangeEvent>();
  /** Events committed, waiting for their append (and their publication), in commit order. */
  private readonly queue: PendingChange[] = [];
  private readonly pending = new WeakMap<object, PendingChange>();
  private draining: Promise<void> | undefined;
  private headId = 0;
  private oldestId = 0;
  private stopping = false;

  /** Every published event, in id order. */
  readonly events = this.subject.asObservable();
  /** Resolves once the newest id is known and what a crash left is recovered (at startup). */
  readonly ready: Promise<void>;
  private markReady!: () => void;

  constructor(
    private readonly db: DuckDbClient,
    private readonly transactions: TransactionHost,
  ) {
    this.ready = new Promise<void>((resolve) => (this.markReady = resolve));
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.readBounds();
    await this.recoverMissing();
    this.markReady();
  }

  /**
   * Before the database closes: appends what has committed so far (at most a few seconds).
   * Requests still finishing append theirs until the pool drains; whatever is left then is
   * recovered from the history at the next start.
   */
  async beforeApplicationShutdown(): Promise<void> {
    await Promise.race([
      this.flushed(),
      new Promise((resolve) => setTimeout(resolve, 5_000).unref()),
    ]);
  }

  /** The newest id published (0: none yet). */
  get head(): number {
    return this.headId;
  }

  /**
   * Adds `changes` to the current transaction's change set (published after it commits, as one
   * event); outside a transaction they are published at once.
   */
  collect(
    context: { changeSet: string; operation: string; actor: string | null },
    historySeq: number,
    changes: EventChange[],
  ): void {
    const { changeSet, operation, actor } = context;
    const transaction = currentTransaction();
    if (!transaction) return this.enqueue({ changeSet, operation, actor, historySeq, changes });
    let change = this.pending.get(transaction);
    if (!change) {
      change = { changeSet, operation, actor, historySeq, changes: [] };
      this.pending.set(transaction, change);
      const committed = change;
      this.transactions.afterCommit(() => this.enqueue(committed));
    }
    change.historySeq = Math.max(change.historySeq, historySeq);
    change.changes.push(...changes);
  }

  /** Events after `since` (of one usage type, if given), oldest first, at most `limit`. */
  async since(since: number, limit: number, usageType?: string): Promise<EventsSince> {
    const head = this.headId;
    if (since > head || (since < this.oldestId - 1 && this.oldestId > 0)) {
      return { events: [], head, reset: true };
    }
    const rows =
      usageType === undefined
        ? await this.db.query<ChangeEvent>(EVENTS_SQL.since, [since, limit])
        : await this.db.query<ChangeEvent>(EVENTS_SQL.sinceOfUsageType, [since, usageType, limit]);
    return { events: rows.filter((event) => event.id <= head), head, reset: false };
  }

  /** Deletes events older than `before` (never the newest); returns how many. */
  async prune(before: Date): Promise<number> {
    const { rowsChanged } = await this.db.execute(EVENTS_SQL.prune, [before]);
    await this.readBounds();
    return rowsChanged;
  }

  /** Resolves once every committed change so far is appended and published. */
  async flushed(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private enqueue(change: PendingChange): void {
    if (change.changes.length === 0 || this.stopping) return;
    this.queue.push(change);
    this.draining ??= this.drain().finally(() => (this.draining = undefined));
  }

  /** Appends and publishes queued events, a batch per statement, until the queue is empty. */
  private async drain(): Promise<void> {
    let retryMs = APPEND_RETRY_MS.first;
    while (this.queue.length > 0) {
      const batch = this.queue.slice();
      const now = new Date().toISOString();
      const events = batch.map((change, index) => toEvent(change, this.headId + 1 + index, now));
      try {
        await this.db.execute(EVENTS_SQL.append, [
          JSON.stringify(events.map((event, index) => toRow(event, batch[index]))),
        ]);
      } catch (error) {
        this.logger.error(`Could not append ${batch.length} change events: ${String(error)}`);
        // The pool is draining (shutdown): the next start recovers them from the history.
        if (error instanceof PoolDrainingError) {
          this.stopping = true;
          return;
        }
        // A failing database (a full disk) is not pressed harder than this.
        await new Promise((resolve) => setTimeout(resolve, retryMs).unref());
        retryMs = Math.min(retryMs * 2, APPEND_RETRY_MS.max);
        continue;
      }
      this.queue.splice(0, batch.length);
      this.headId += events.length;
      if (this.oldestId === 0) this.oldestId = events[0].id;
      for (const event of events) this.subject.next(event);
    }
  }

  private async readBounds(): Promise<void> {
    const row = await this.db.queryOne<{ head: number | null; oldest: number | null }>(
      EVENTS_SQL.bounds,
    );
    this.headId = Number(row?.head ?? 0);
    this.oldestId = Number(row?.oldest ?? 0);
  }

  /** Gives change sets committed before a crash, but never appended, their events now. */
  private async recoverMissing(): Promise<void> {
    const rows = await this.db.query<MissingRow>(EVENTS_SQL.missing);
    const sets = new Map<string, PendingChange>();
    for (const row of rows) {
      let change = sets.get(row.changeSet);
      if (!change) {
        change = {
          changeSet: row.changeSet,
          historySeq: row.seq,
          operation: row.operation,
          actor: row.actor,
          changes: [],
        };
        sets.set(row.changeSet, change);
      }
      change.historySeq = Math.max(change.historySeq, row.seq);
      change.changes.push({
        action: row.action,
        configId: row.configId,
        usageType: row.usageType,
        priority: row.priority,
        version: row.version,
        config: row.after,
        ...movedFrom(row.before, row.after),
      });
    }
    if (sets.size === 0) return;
    this.logger.warn(`Recovering ${sets.size} change events not written before the last stop`);
    for (const change of sets.values()) this.enqueue(change);
    await this.flushed();
  }
}

interface MissingRow extends Omit<EventChange, 'config'> {
  seq: number;
  changeSet: string;
  operation: string;
  actor: string | null;
  before: ModelConfig | null;
  after: ModelConfig | null;
}

/** `{ movedFrom }` when a change moved a config out of a usage type. */
export function movedFrom(
  before: ModelConfig | null,
  after: ModelConfig | null,
): { movedFrom?: string } {
  return before && after && before.usageType !== after.usageType
    ? { movedFrom: before.usageType }
    : {};
}

/** The event of a committed change set. */
function toEvent(change: PendingChange, id: number, committedAt: string): ChangeEvent {
  const usageTypes = new Set<string>();
  for (const item of change.changes) {
    usageTypes.add(item.usageType);
    if (item.movedFrom !== undefined) usageTypes.add(item.movedFrom);
  }
  return {
    id,
    operation: change.operation,
    actor: change.actor,
    committedAt,
    usageTypes: [...usageTypes].sort(),
    changes: change.changes,
  };
}

function toRow(event: ChangeEvent, change: PendingChange) {
  return {
    id: event.id,
    change_set: change.changeSet,
    history_seq: change.historySeq,
    operation: event.operation,
    actor: event.actor,
    usage_types: event.usageTypes,
    changes: event.changes,
    committed_at: event.committedAt,
  };
}
