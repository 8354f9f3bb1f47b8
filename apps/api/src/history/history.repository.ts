import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DuckDbClient } from '@lib/duckdb';
import type { ModelConfig } from '../model-configs/model-config.types';
import { ChangeLog, movedFrom } from '../events/change-log';
import type { EventChange } from '../events/change-event';
import { currentChange } from './change-context';
import { HISTORY_SQL } from './history.sql';
import type { ConfigChange, HistoryAction, HistoryEntry, HistoryPage } from './history.types';

/** Whose history a page lists. */
export type HistorySubject = { configId: string } | { usageType: string };

/**
 * The `model_config_history` table. `record` runs in the caller's ambient transaction (the
 * repository's writes call it), so a rolled-back change leaves no history.
 */
@Injectable()
export class HistoryRepository {
  constructor(
    private readonly db: DuckDbClient,
    private readonly changeLog: ChangeLog,
  ) {}

  /**
   * Writes one row per change, in one statement, under the current {@link currentChange};
   * returns the newest seq written (0: no changes).
   */
  async record(changes: readonly ConfigChange[], now = new Date()): Promise<number> {
    if (changes.length === 0) return 0;
    const rows = changes.map(({ action, before, after }) => {
      const config = (after ?? before) as ModelConfig;
      return {
        config_id: config.id,
        usage_type: config.usageType,
        from_usage_type: before?.usageType ?? null,
        priority: config.priority,
        version: config.version,
        action,
        before: before ?? null,
        after: after ?? null,
      };
    });
    const scope = changeScope();
    const common = [scope.changeSet, scope.operation, scope.actor, scope.requestId, now];
    const [one] = rows;
    const written =
      rows.length === 1
        ? await this.db.query<{ seq: number }>(HISTORY_SQL.recordOne, [
            ...common,
            ...[one.config_id, one.usage_type, one.from_usage_type, one.priority, one.version],
            ...[one.action, jsonOrNull(one.before), jsonOrNull(one.after)],
          ])
        : await this.db.query<{ seq: number }>(HISTORY_SQL.record, [
            ...common,
            JSON.stringify(rows),
          ]);
    const newest = Math.max(...written.map((row) => Number(row.seq)));
    // Published once the transaction commits (never if it rolls back).
    this.changeLog.collect(
      scope,
      newest,
      changes.map(({ action, before, after }) =>
        eventChange(action, (after ?? before) as ModelConfig, after, before),
      ),
    );
    return newest;
  }

  /**
   * Records the replacement of every config `usageType` has by `creates`, in one statement that
   * must run before those configs are deleted (in the same transaction): a delete of each, its
   * before image made by DuckDB from the row, then a create of each of `creates`, under the
   * current {@link currentChange}. Returns the newest seq written and the deleted configs (as
   * much of each as their events and cache tags need).
   */
  async recordReplacement(
    usageType: string,
    creates: readonly ModelConfig[],
    now = new Date(),
  ): Promise<{ newest: number; deleted: DeletedConfig[] }> {
    const scope = changeScope();
    const written = await this.db.query<ReplacementRow>(HISTORY_SQL.recordReplacement, [
      ...[scope.changeSet, scope.operation, scope.actor, scope.requestId, now, usageType],
      JSON.stringify(creates.map(createRow)),
    ]);
    if (written.length === 0) return { newest: 0, deleted: [] };
    let newest = 0;
    const deleted: DeletedConfig[] = [];
    for (const row of written) {
      newest = Math.max(newest, Number(row.seq));
      if (row.action === 'delete') {
        const { configId: id, priority, version, provider } = row;
        deleted.push({ id, usageType, priority, version, provider: provider as string });
      }
    }
    deleted.sort((a, b) => a.priority - b.priority);
    this.changeLog.collect(scope, newest, [
      ...deleted.map((config) => eventChange('delete', config, null)),
      ...creates.map((config) => eventChange('create', config, config)),
    ]);
    return { newest, deleted };
  }

  /** A page of `subject`'s history, newest first, older than `cursor` (a `seq`). */
  async page(subject: HistorySubject, limit: number, cursor?: number): Promise<HistoryPage> {
    const [sql, key] =
      'configId' in subject
        ? [HISTORY_SQL.ofConfig, subject.configId]
        : [HISTORY_SQL.ofUsageType, subject.usageType];
    const rows = await this.db.query<HistoryEntry>(sql, [key, cursor ?? null, limit + 1]);
    const items = rows.slice(0, limit);
    const more = rows.length > limit;
    return { items, nextCursor: more ? String(items[items.length - 1].seq) : null };
  }

  /** The content config `id` had at `version`, if the history still holds it. */
  async contentAt(id: string, version: number): Promise<ModelConfig | undefined> {
    const row = await this.db.queryOne<{ after: ModelConfig }>(HISTORY_SQL.version, [id, version]);
    return row?.after;
  }

  /** The highest version config `id` ever had (0: never recorded). */
  async lastVersion(id: string): Promise<number> {
    const row = await this.db.queryOne<{ version: number | null }>(HISTORY_SQL.lastVersion, [id]);
    return row?.version ?? 0;
  }

  /** The newest seq of `usageType`'s history (0: none): the version a chain restore matches. */
  async latestSeq(usageType: string): Promise<number> {
    const row = await this.db.queryOne<{ seq: number | null }>(HISTORY_SQL.latestSeq, [usageType]);
    return Number(row?.seq ?? 0);
  }

  /** The configs `usageType` had at `at`, by priority; `undefined` when no history reaches back. */
  async stateAt(usageType: string, at: Date): Promise<ModelConfig[] | undefined> {
    const known = await this.db.queryOne<{ n: number }>(HISTORY_SQL.knownAt, [usageType, at]);
    if (!known?.n) return undefined;
    const rows = await this.db.query<{ after: ModelConfig }>(HISTORY_SQL.stateAt, [usageType, at]);
    return rows.map((row) => row.after);
  }

  /** Deletes rows older than `before`, keeping each live config's newest; returns how many. */
  async prune(before: Date): Promise<number> {
    const { rowsChanged } = await this.db.execute(HISTORY_SQL.prune, [before]);
    return rowsChanged;
  }
}

/** The change set the current write belongs to: its `@RecordedAs` one, else a new one. */
function changeScope() {
  const context = currentChange();
  return {
    changeSet: context.changeSet ?? randomUUID(),
    operation: context.operation ?? 'update',
    actor: context.actor,
    requestId: context.requestId,
  };
}

/** One config's part of a change event (`after`: the config as the change left it, or null). */
function eventChange(
  action: HistoryAction,
  config: Pick<ModelConfig, 'id' | 'usageType' | 'priority' | 'version'>,
  after: ModelConfig | null,
  before: ModelConfig | null = null,
): EventChange {
  return {
    action,
    configId: config.id,
    usageType: config.usageType,
    priority: config.priority,
    version: config.version,
    config: after,
    ...movedFrom(before, after),
  };
}

/** A config a replacement deleted: what its event and its cache tags need. */
export interface DeletedConfig {
  id: string;
  usageType: string;
  provider: string;
  priority: number;
  version: number;
}

/** One row `recordReplacement` wrote (`provider`: a delete's). */
interface ReplacementRow {
  seq: number;
  action: string;
  configId: string;
  priority: number;
  version: number;
  provider: string | null;
}

/** The history row of `config`'s creation, as `changeRows` reads it. */
function createRow(config: ModelConfig) {
  return {
    config_id: config.id,
    usage_type: config.usageType,
    from_usage_type: null,
    priority: config.priority,
    version: config.version,
    action: 'create',
    before: null,
    after: config,
  };
}

/** A config as JSON text, or null. */
function jsonOrNull(config: ModelConfig | null): string | null {
  return config && JSON.stringify(config);
}
