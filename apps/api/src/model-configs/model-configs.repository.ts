import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DuckDbClient } from '@lib/duckdb';
import { QueryCache } from '@lib/query-cache';
import { HistoryRepository } from '../history/history.repository';
import type {
  ListFilter,
  ModelConfig,
  ModelConfigFields,
  UsageTypeSummary,
} from './model-config.types';
import { type ConfigChange, createOf, deleteOf } from '../history/history.types';
import { STRUCTURAL, TAG, changeTags, key, listTag } from './model-configs.cache-tags';
import {
  MODEL_CONFIG_SQL,
  type ModelConfigRow,
  byPriority,
  toModelConfig,
  toRowJson,
  values,
} from './model-configs.sql';

/**
 * Every SQL statement about `model_configs`. Each read is one parameterized statement (prepared
 * once per connection by the client); the hot reads go through the query cache. Writes run in
 * the caller's ambient transaction and invalidate what they change after it commits.
 */
@Injectable()
export class ModelConfigsRepository {
  constructor(
    private readonly db: DuckDbClient,
    private readonly cache: QueryCache,
    private readonly history: HistoryRepository,
  ) {}

  /**
   * A page of configs ordered by usage type and priority, and the total matching the filter
   * (cached). A page of one usage type carries only that usage type's tag, and a page of one
   * provider only that provider's, so a write elsewhere keeps them; an unfiltered page spans
   * everything and goes with every write (the grouped tag).
   */
  list(filter: ListFilter): Promise<{ items: ModelConfig[]; total: number }> {
    const { usageType, provider, enabled, limit, offset } = filter;
    const params = [usageType ?? null, provider ?? null, enabled ?? null];
    return this.cache.getOrLoad(
      key('list', ...params, limit, offset),
      async () => {
        const rows = await this.db.query<ModelConfigRow & { total: number }>(
          MODEL_CONFIG_SQL.list,
          [...params, limit, offset],
        );
        if (rows.length > 0) return { items: rows.map(toModelConfig), total: rows[0].total };
        // An empty page (an offset past the data) still reports the total.
        const count = await this.db.queryOne<{ total: number }>(MODEL_CONFIG_SQL.listTotal, params);
        return { items: [], total: count?.total ?? 0 };
      },
      { tags: [listTag(usageType, provider)] },
    );
  }

  /** Every config, ordered by usage type and priority (cached). */
  findAll(): Promise<ModelConfig[]> {
    return this.cache.getOrLoad(
      key('all'),
      async () => {
        const rows = await this.db.query<ModelConfigRow>(MODEL_CONFIG_SQL.all);
        return rows.map(toModelConfig);
      },
      { tags: [TAG.grouped] },
    );
  }

  /** One config by id (cached). */
  findById(id: string): Promise<ModelConfig | undefined> {
    return this.cache.getOrLoad(
      key('id', id),
      async () => {
        const row = await this.db.queryOne<ModelConfigRow>(MODEL_CONFIG_SQL.byId, [id]);
        return row && toModelConfig(row);
      },
      { tags: [TAG.id(id), TAG.ids] },
    );
  }

  /** The config in one `(usageType, priority)` slot (uncached: writes use it). */
  async findBySlot(usageType: string, priority: number): Promise<ModelConfig | undefined> {
    const row = await this.db.queryOne<ModelConfigRow>(MODEL_CONFIG_SQL.bySlot, [
      usageType,
      priority,
    ]);
    return row && toModelConfig(row);
  }

  /** The active model of a usage type: its enabled config with the lowest priority (cached). */
  findActive(usageType: string): Promise<ModelConfig | undefined> {
    return this.cache.getOrLoad(
      key('active', usageType),
      async () => {
        const row = await this.db.queryOne<ModelConfigRow>(MODEL_CONFIG_SQL.active, [usageType]);
        return row && toModelConfig(row);
      },
      { tags: [TAG.configs(usageType)] },
    );
  }

  /**
   * A usage type's fallback chain: the model ids of its enabled configs by priority, or
   * `null` when the usage type has no config at all (cached).
   */
  findChain(usageType: string): Promise<string[] | null> {
    return this.cache.getOrLoad(
      key('chain', usageType),
      async () => {
        const rows = await this.db.query<{ model_id: string; enabled: boolean }>(
          MODEL_CONFIG_SQL.chain,
          [usageType],
        );
        if (rows.length === 0) return null;
        return rows.filter((row) => row.enabled).map((row) => row.model_id);
      },
      { tags: [TAG.chain(usageType)] },
    );
  }

  /** The enabled config of `usageType` that runs `modelId`, if any (cached). */
  findEnabledModel(usageType: string, modelId: string): Promise<ModelConfig | undefined> {
    return this.cache.getOrLoad(
      key('model', usageType, modelId),
      async () => {
        const row = await this.db.queryOne<ModelConfigRow>(MODEL_CONFIG_SQL.enabledModel, [
          usageType,
          modelId,
        ]);
        return row && toModelConfig(row);
      },
      { tags: [TAG.configs(usageType)] },
    );
  }

  /** Distinct model ids of a provider's enabled configs, sorted (cached). */
  findProviderModels(provider: string): Promise<string[]> {
    return this.cache.getOrLoad(
      key('provider', provider),
      async () => {
        const rows = await this.db.query<{ model_id: string }>(MODEL_CONFIG_SQL.providerModels, [
          provider,
        ]);
        return rows.map((row) => row.model_id);
      },
      { tags: [TAG.structure] },
    );
  }

  /** One summary row per usage type, ordered by name (cached). */
  summarizeUsageTypes(): Promise<UsageTypeSummary[]> {
    return this.cache.getOrLoad(
      key('usage-types'),
      () => this.db.query<UsageTypeSummary>(MODEL_CONFIG_SQL.usageTypes),
      { tags: [TAG.structure] },
    );
  }

  /** How many configs exist. */
  async count(): Promise<number> {
    const row = await this.db.queryOne<{ n: number }>(MODEL_CONFIG_SQL.count);
    return row?.n ?? 0;
  }

  /** Inserts a new config (version 1) and returns it. */
  async insert(fields: ModelConfigFields, now = new Date()): Promise<ModelConfig> {
    const row = await this.db.queryOne<ModelConfigRow>(MODEL_CONFIG_SQL.insert, [
      randomUUID(),
      ...values(fields),
      now,
    ]);
    const config = toModelConfig(row as ModelConfigRow);
    await this.history.record([createOf(config)], now);
    await this.cache.invalidate(changeTags([fields]));
    return config;
  }

  /**
   * Inserts whole configs (ids, versions and times as given) in one statement, recording each as
   * `changes` says (a create unless given); returns them by priority.
   */
  async insertRows(
    configs: readonly ModelConfig[],
    changes: readonly ConfigChange[] = configs.map(createOf),
    now = new Date(),
  ): Promise<ModelConfig[]> {
    if (configs.length === 0) return [];
    await this.db.execute(MODEL_CONFIG_SQL.insertRows, [JSON.stringify(configs.map(toRowJson))]);
    await this.history.record(changes, now);
    await this.cache.invalidate(changeTags(configs));
    return byPriority(configs);
  }

  /** Inserts a default config unless its slot is taken; returns whether it did. */
  async insertIfSlotFree(fields: ModelConfigFields, now = new Date()): Promise<boolean> {
    const row = await this.db.queryOne<ModelConfigRow>(MODEL_CONFIG_SQL.insertIfSlotFree, [
      randomUUID(),
      ...values(fields),
      now,
    ]);
    if (!row) return false;
    await this.history.record([createOf(toModelConfig(row))], now);
    await this.cache.invalidate(changeTags([fields]));
    return true;
  }

  /**
   * Overwrites every writable field of `current` if its version is still `current.version`,
   * bumping the version. Returns `undefined` when the row changed meanwhile.
   */
  async update(
    current: ModelConfig,
    fields: ModelConfigFields,
    now = new Date(),
  ): Promise<ModelConfig | undefined> {
    const row = await this.db.queryOne<ModelConfigRow>(MODEL_CONFIG_SQL.update, [
      current.id,
      current.version,
      ...values(fields),
      now,
    ]);
    const updated = row && toModelConfig(row);
    if (updated)
      await this.history.record([{ action: 'update', before: current, after: updated }], now);
    const structural = STRUCTURAL.some((field) => current[field] !== fields[field]);
    await this.cache.invalidate([
      TAG.id(current.id),
      ...(structural
        ? changeTags([current, fields])
        : [TAG.configs(current.usageType), TAG.grouped, TAG.provider(current.provider)]),
    ]);
    return updated;
  }

  /** Deletes a config; returns whether it existed. */
  async delete(config: ModelConfig): Promise<boolean> {
    const deleted = await this.deleteReturning(MODEL_CONFIG_SQL.delete, [config.id]);
    await this.cache.invalidate([TAG.id(config.id), ...changeTags([config])]);
    return deleted.length > 0;
  }

  /** The configs of a usage type by priority (uncached: writes use it). */
  async ofUsageType(usageType: string): Promise<ModelConfig[]> {
    const rows = await this.db.query<ModelConfigRow>(MODEL_CONFIG_SQL.ofUsageType, [usageType]);
    return rows.map(toModelConfig);
  }

  /**
   * Replaces every config of `usageType` with `rows` (a chain) in three statements: the history
   * of the whole replacement first, its deletes made from the rows still there (never read into
   * the process: `HistoryRepository.recordReplacement`), then one DELETE and one INSERT. Returns
   * the new configs by priority and the newest history seq written: the chain's new version.
   */
  async replaceUsageType(usageType: string, rows: readonly ModelConfig[], now = new Date()) {
    const { newest, deleted } = await this.history.recordReplacement(usageType, rows, now);
    return { items: await this.rewriteUsageType(usageType, rows, deleted), version: newest };
  }

  /** As {@link replaceUsageType}, recording a restore's own `changes` (updates, creates, deletes). */
  async restoreUsageType(usageType: string, rows: ModelConfig[], changes: ConfigChange[]) {
    const version = await this.history.record(changes);
    const touched = changes.flatMap(({ before, after }) => [before, after]);
    return { items: await this.rewriteUsageType(usageType, rows, touched), version };
  }

  /** One DELETE and one INSERT; invalidates what `rows` and the `gone` configs touch. */
  private async rewriteUsageType(
    usageType: string,
    rows: readonly ModelConfig[],
    gone: readonly (Pick<ModelConfig, 'usageType' | 'provider'> | null)[],
  ): Promise<ModelConfig[]> {
    await this.db.execute(MODEL_CONFIG_SQL.clearUsageType, [usageType]);
    if (rows.length > 0)
      await this.db.execute(MODEL_CONFIG_SQL.insertRows, [JSON.stringify(rows.map(toRowJson))]);
    await this.cache.invalidate([TAG.ids, ...changeTags([...rows, ...gone])]);
    return byPriority(rows);
  }

  /** Deletes every config; returns how many. */
  async deleteAll(): Promise<number> {
    const deleted = await this.deleteReturning(MODEL_CONFIG_SQL.deleteAll, []);
    await this.cache.invalidateAll();
    return deleted.length;
  }

  /** Runs a `DELETE … RETURNING` and records a delete for every row it removed. */
  private async deleteReturning(sql: string, params: string[]): Promise<ModelConfig[]> {
    const deleted = (await this.db.query<ModelConfigRow>(sql, params)).map(toModelConfig);
    await this.history.record(deleted.map(deleteOf));
    return deleted;
  }
}
