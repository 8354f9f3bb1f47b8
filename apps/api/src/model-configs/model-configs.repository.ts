import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DuckDbClient } from '@lib/duckdb';
import { QueryCache } from '@lib/query-cache';
import type {
  ListFilter,
  ModelConfig,
  ModelConfigFields,
  UsageTypeSummary,
} from './model-config.types';
import { MODEL_CONFIG_SQL, type ModelConfigRow, toModelConfig } from './model-configs.sql';

/**
 * Cache tags. A write invalidates only what it can change: a config's text (its name, parameters)
 * touches its id, its usage type's full-config entries and the grouped list; a structural change
 * (slot, model, provider, enabled) also its chains, the summary and the provider lists. Only
 * reset invalidates everything.
 */
const TAG = {
  /** Full configs of a usage type: its active model, model validation. */
  configs: (usageType: string) => `configs:${usageType}`,
  /** The shape of a usage type's chain: model ids, order, enabled flags. */
  chain: (usageType: string) => `chain:${usageType}`,
  id: (id: string) => `id:${id}`,
  /** Every by-id entry: for writes that delete many rows at once. */
  ids: 'ids',
  /** The grouped list of full configs. */
  grouped: 'grouped',
  /** Lists of model ids and counts: usage-type summary, provider models. */
  structure: 'structure',
} as const;

/** Fields whose change reshapes chains, summaries and provider lists (not just one config's text). */
const STRUCTURAL: readonly (keyof ModelConfigFields)[] = [
  'usageType',
  'priority',
  'modelId',
  'provider',
  'enabled',
];

/** Every tag a whole usage type's entries carry, plus the global lists. */
const usageTypeTags = (usageType: string) => [
  TAG.configs(usageType),
  TAG.chain(usageType),
  TAG.grouped,
  TAG.structure,
];

/** Cache keys; user values are JSON-encoded so no two keys can collide. */
const key = (kind: string, ...parts: string[]) => `${kind}:${JSON.stringify(parts)}`;

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
  ) {}

  /** A page of configs ordered by usage type and priority, and the total matching the filter. */
  async list(filter: ListFilter): Promise<{ items: ModelConfig[]; total: number }> {
    const params = [filter.usageType ?? null, filter.provider ?? null, filter.enabled ?? null];
    const rows = await this.db.query<ModelConfigRow & { total: number }>(MODEL_CONFIG_SQL.list, [
      ...params,
      filter.limit,
      filter.offset,
    ]);
    if (rows.length > 0) return { items: rows.map(toModelConfig), total: rows[0].total };
    // An empty page (an offset past the data) still reports the total.
    const count = await this.db.queryOne<{ total: number }>(MODEL_CONFIG_SQL.listTotal, params);
    return { items: [], total: count?.total ?? 0 };
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
    await this.cache.invalidate(usageTypeTags(fields.usageType));
    return toModelConfig(row as ModelConfigRow);
  }

  /** Inserts a default config unless its slot is taken; returns whether it did. */
  async insertIfSlotFree(fields: ModelConfigFields, now = new Date()): Promise<boolean> {
    const { rowsChanged } = await this.db.execute(MODEL_CONFIG_SQL.insertIfSlotFree, [
      randomUUID(),
      ...values(fields),
      now,
    ]);
    if (rowsChanged > 0) await this.cache.invalidate(usageTypeTags(fields.usageType));
    return rowsChanged > 0;
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
    const structural = STRUCTURAL.some((field) => current[field] !== fields[field]);
    await this.cache.invalidate(
      structural
        ? [
            TAG.id(current.id),
            ...usageTypeTags(current.usageType),
            ...usageTypeTags(fields.usageType),
          ]
        : [TAG.id(current.id), TAG.configs(current.usageType), TAG.grouped],
    );
    return row && toModelConfig(row);
  }

  /** Deletes a config; returns whether it existed. */
  async delete(config: ModelConfig): Promise<boolean> {
    const { rowsChanged } = await this.db.execute(MODEL_CONFIG_SQL.delete, [config.id]);
    await this.cache.invalidate([TAG.id(config.id), ...usageTypeTags(config.usageType)]);
    return rowsChanged > 0;
  }

  /** Deletes every config of a usage type; returns how many. */
  async deleteUsageType(usageType: string): Promise<number> {
    const { rowsChanged } = await this.db.execute(MODEL_CONFIG_SQL.deleteUsageType, [usageType]);
    await this.cache.invalidate([TAG.ids, ...usageTypeTags(usageType)]);
    return rowsChanged;
  }

  /** Deletes every config; returns how many. */
  async deleteAll(): Promise<number> {
    const { rowsChanged } = await this.db.execute(MODEL_CONFIG_SQL.deleteAll);
    await this.cache.invalidateAll();
    return rowsChanged;
  }
}

/** The writable fields as statement parameters `$2..$8`, in column order. */
function values(fields: ModelConfigFields): (string | number | boolean)[] {
  return [
    fields.usageType,
    fields.priority,
    fields.modelId,
    fields.modelName,
    fields.provider,
    JSON.stringify(fields.parameters),
    fields.enabled,
  ];
}
