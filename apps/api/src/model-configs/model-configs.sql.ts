import type { ModelConfig, ModelConfigFields } from './model-config.types';

/** Every column of a config row, in table order. */
const COLUMNS = `id, usage_type, priority, model_id, model_name, provider, parameters, enabled, version,
  created_at, updated_at`;

/**
 * A `model_configs` row as a JSON object built by DuckDB: the fields of {@link toModelConfig},
 * in its order, with its values (times as `toISOString()` writes them: milliseconds, `Z`). For
 * statements that copy configs into JSON without reading them into the process.
 */
export const CONFIG_AS_JSON = `json_object('id', id, 'usageType', usage_type,
  'priority', priority, 'modelId', model_id, 'modelName', model_name, 'provider', provider,
  'parameters', parameters, 'enabled', enabled, 'version', version,
  'createdAt', strftime(created_at, '%Y-%m-%dT%H:%M:%S.%gZ'),
  'updatedAt', strftime(updated_at, '%Y-%m-%dT%H:%M:%S.%gZ'))`;

/** A `model_configs` row as `DuckDbClient` returns it. */
export interface ModelConfigRow {
  id: string;
  usage_type: string;
  priority: number;
  model_id: string;
  model_name: string;
  provider: string;
  parameters: Record<string, unknown>;
  enabled: boolean;
  version: number;
  created_at: string;
  updated_at: string;
}

/** Rows come back JSON-safe from `DuckDbClient`; this maps names and pins the shape. */
export function toModelConfig(row: ModelConfigRow): ModelConfig {
  return {
    id: row.id,
    usageType: row.usage_type,
    priority: row.priority,
    modelId: row.model_id,
    modelName: row.model_name,
    provider: row.provider,
    parameters: row.parameters,
    enabled: row.enabled,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** `list`'s filter: `$1` usage type, `$2` provider, `$3` enabled, each ignored when `NULL`. */
const LIST_WHERE = `($1::VARCHAR IS NULL OR usage_type = $1::VARCHAR)
      AND ($2::VARCHAR IS NULL OR provider = $2::VARCHAR)
      AND ($3::BOOLEAN IS NULL OR enabled = $3::BOOLEAN)`;

/**
 * The text of every statement the repository runs, by the method that runs it: the one copy,
 * which the benchmarks import to run the very statements the service runs.
 *
 * @example
 * await db.queryOne(MODEL_CONFIG_SQL.byId, [id]);
 */
export const MODEL_CONFIG_SQL = {
  /** Every column of a config row, in table order (a full config's reads select them all). */
  columns: COLUMNS,
  /** `list`: a page (`$4` limit, `$5` offset) matching {@link LIST_WHERE}, with the total. */
  list: `SELECT ${COLUMNS}, count(*) OVER () AS total FROM model_configs WHERE ${LIST_WHERE}
       ORDER BY usage_type, priority LIMIT $4 OFFSET $5`,
  /** `list`'s total when its page is empty (an offset past the data). */
  listTotal: `SELECT count(*) AS total FROM model_configs WHERE ${LIST_WHERE}`,
  /** `findAll`: every config by usage type and priority. */
  all: `SELECT ${COLUMNS} FROM model_configs ORDER BY usage_type, priority`,
  /** `findById`: one config by id (`$1`). */
  byId: `SELECT ${COLUMNS} FROM model_configs WHERE id = $1`,
  /** `findBySlot`: the config of usage type `$1` at priority `$2`. */
  bySlot: `SELECT ${COLUMNS} FROM model_configs WHERE usage_type = $1 AND priority = $2`,
  /** `findActive`: the enabled config of usage type `$1` with the lowest priority. */
  active: `SELECT ${COLUMNS} FROM model_configs WHERE usage_type = $1 AND enabled
           ORDER BY priority LIMIT 1`,
  /** `findChain`: model ids and enabled flags of usage type `$1`, by priority. */
  chain: 'SELECT model_id, enabled FROM model_configs WHERE usage_type = $1 ORDER BY priority',
  /** `findEnabledModel`: the enabled config of usage type `$1` that runs model `$2`. */
  enabledModel: `SELECT ${COLUMNS} FROM model_configs WHERE usage_type = $1 AND model_id = $2 AND enabled
           ORDER BY priority LIMIT 1`,
  /** `findProviderModels`: distinct model ids of provider `$1`'s enabled configs. */
  providerModels: `SELECT DISTINCT model_id FROM model_configs WHERE provider = $1 AND enabled
           ORDER BY model_id`,
  /** `summarizeUsageTypes`: one summary row per usage type. */
  usageTypes: `SELECT usage_type AS "usageType", count(*) AS total,
                  count(*) FILTER (WHERE enabled) AS enabled,
                  arg_min(model_id, priority) FILTER (WHERE enabled) AS "activeModelId"
           FROM model_configs GROUP BY usage_type ORDER BY usage_type`,
  /** `count`: how many configs exist. */
  count: 'SELECT count(*) AS n FROM model_configs',
  /** `insert`: a new config (`$1` id, `$2`..`$8` the fields, `$9` now), returned. */
  insert: `INSERT INTO model_configs (${COLUMNS})
       VALUES ($1, $2, $3, $4, $5, $6, $7::JSON, $8, 1, $9::TIMESTAMP, $9::TIMESTAMP)
       RETURNING ${COLUMNS}`,
  /** `insertIfSlotFree`: as `insert`, unless the `(usage_type, priority)` slot is taken. */
  insertIfSlotFree: `INSERT INTO model_configs (${COLUMNS})
       SELECT $1, $2, $3, $4, $5, $6, $7::JSON, $8, 1, $9::TIMESTAMP, $9::TIMESTAMP
       WHERE NOT EXISTS (SELECT 1 FROM model_configs WHERE usage_type = $2 AND priority = $3)
       RETURNING ${COLUMNS}`,
  /**
   * `insertRows`: whole rows (ids, versions and times included) from one JSON array `$1`: a
   * chain of any length in one statement. Values stay parameters; `parameters` is nested in the
   * array as JSON (not JSON text inside it, which would be encoded twice).
   * Nothing is read back: the rows are stored as given (see `byPriority`).
   */
  insertRows: `INSERT INTO model_configs (${COLUMNS})
       SELECT id, usage_type, priority, model_id, model_name, provider, parameters, enabled,
         version, created_at::TIMESTAMP, updated_at::TIMESTAMP
       FROM (SELECT unnest(from_json($1::JSON, '[{"id":"VARCHAR","usage_type":"VARCHAR",
         "priority":"INTEGER","model_id":"VARCHAR","model_name":"VARCHAR","provider":"VARCHAR",
         "parameters":"JSON","enabled":"BOOLEAN","version":"INTEGER","created_at":"VARCHAR",
         "updated_at":"VARCHAR"}]'), recursive := true))`,
  /** `update`: every writable field of row `$1` if its version is still `$2`, returned. */
  update: `UPDATE model_configs SET usage_type = $3, priority = $4, model_id = $5, model_name = $6,
         provider = $7, parameters = $8::JSON, enabled = $9, version = version + 1,
         updated_at = $10::TIMESTAMP
       WHERE id = $1 AND version = $2
       RETURNING ${COLUMNS}`,
  /** `delete`: one config by id (`$1`). */
  delete: `DELETE FROM model_configs WHERE id = $1 RETURNING ${COLUMNS}`,
  /**
   * `clearUsageType`: every config of usage type `$1`, unread (its history, before images
   * included, is written by the statement that records the replacement).
   */
  clearUsageType: 'DELETE FROM model_configs WHERE usage_type = $1',
  /** `ofUsageType`: the configs of usage type `$1` by priority (uncached: writes use it). */
  ofUsageType: `SELECT ${COLUMNS} FROM model_configs WHERE usage_type = $1 ORDER BY priority`,
  /** `deleteAll`: every config. */
  deleteAll: `DELETE FROM model_configs RETURNING ${COLUMNS}`,
} as const;

/** A config from its parts: its fields in the API's order (that of {@link toModelConfig}). */
export function configOf(
  id: string,
  fields: ModelConfigFields,
  version: number,
  createdAt: string,
  updatedAt: string,
): ModelConfig {
  return {
    id,
    usageType: fields.usageType,
    priority: fields.priority,
    modelId: fields.modelId,
    modelName: fields.modelName,
    provider: fields.provider,
    parameters: fields.parameters,
    enabled: fields.enabled,
    version,
    createdAt,
    updatedAt,
  };
}

/**
 * The configs `insertRows` stored, by priority, as reading them back would give them (copies,
 * fields in the API's order): the statement stores exactly what it is given, so reading 100 rows
 * of 11 columns back (`RETURNING`) would only cost time.
 */
export function byPriority(configs: readonly ModelConfig[]): ModelConfig[] {
  return configs
    .map((c) => configOf(c.id, c, c.version, c.createdAt, c.updatedAt))
    .sort((a, b) => a.priority - b.priority);
}

/** A whole config as one row of `insertRows`' JSON array. */
export function toRowJson(config: ModelConfig): Record<string, unknown> {
  return {
    id: config.id,
    usage_type: config.usageType,
    priority: config.priority,
    model_id: config.modelId,
    model_name: config.modelName,
    provider: config.provider,
    parameters: config.parameters,
    enabled: config.enabled,
    version: config.version,
    created_at: config.createdAt,
    updated_at: config.updatedAt,
  };
}

/** The writable fields as statement parameters `$2..$8`, in column order. */
export function values(fields: ModelConfigFields): (string | number | boolean)[] {
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
