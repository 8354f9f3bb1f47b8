import { CONFIG_AS_JSON } from '../model-configs/model-configs.sql';

/** Every column of a history row, as the API names them. */
const COLUMNS = `seq, change_set AS "changeSet", config_id AS "configId", usage_type AS "usageType",
  priority, version, operation, action, before, after, actor, request_id AS "requestId",
  changed_at AS "changedAt"`;

/**
 * The rows of one change set, as one JSON array (parameter `$n`): one statement however many
 * rows. `before` and `after` are the configs themselves, nested (not JSON text in a string, which
 * would be escaped once more and unescaped again); DuckDB keeps each as JSON (a JSON `null`: SQL
 * NULL).
 */
const changeRows = (n: number) => `(SELECT unnest(from_json($${n}::JSON, '[{"config_id":"VARCHAR",
  "usage_type":"VARCHAR","from_usage_type":"VARCHAR","priority":"INTEGER","version":"INTEGER",
  "action":"VARCHAR","before":"JSON","after":"JSON"}]'), recursive := true))`;

/** The columns `record` writes (`seq` comes from its sequence). */
const RECORD_COLUMNS = `change_set, config_id, usage_type, from_usage_type, priority, version,
  operation, action, before, after, actor, request_id, changed_at`;

/**
 * Rows that concern usage type `$1`: changes in it, and configs moved out of it
 * (`from_usage_type` is `before.usageType`, migration 0004).
 */
const OF_USAGE_TYPE = `(usage_type = $1 OR from_usage_type = $1)`;

/** Every statement about `model_config_history`; each one parameterized. */
export const HISTORY_SQL = {
  /** `record`: `$1` change set, `$2` operation, `$3` actor, `$4` request id, `$5` time. */
  record: `INSERT INTO model_config_history (${RECORD_COLUMNS})
       SELECT $1, config_id, usage_type, from_usage_type, priority, version, $2, action,
         before, after, $3, $4, $5::TIMESTAMP
       FROM ${changeRows(6)}
       RETURNING seq`,
  /**
   * `recordReplacement`: the change set of usage type `$6`'s configs replaced by the creates of
   * JSON array `$7` ({@link changeRows}), written before the configs are deleted: a delete of each
   * config the usage type has, its before image built here from the row itself (nothing is read
   * into the process and sent back), then the creates, each part by priority. Returns what the
   * deletes' events and cache tags need.
   */
  recordReplacement: `INSERT INTO model_config_history (${RECORD_COLUMNS})
       SELECT $1, config_id, usage_type, from_usage_type, priority, version, $2, action,
         before, after, $3, $4, $5::TIMESTAMP
       FROM (
         SELECT 0 AS part, id::VARCHAR AS config_id, usage_type, usage_type AS from_usage_type,
           priority, version, 'delete' AS action, ${CONFIG_AS_JSON} AS before, NULL::JSON AS after
         FROM model_configs WHERE usage_type = $6
         UNION ALL
         SELECT 1, config_id, usage_type, from_usage_type, priority, version, action, before, after
         FROM ${changeRows(7)})
       ORDER BY part, priority
       RETURNING seq, action, config_id AS "configId", priority, version,
         before ->> 'provider' AS provider`,
  /**
   * `record` of one change (most writes), its fields as parameters `$6`…`$13` in the order of
   * {@link changeRows}: about 450 µs less DuckDB CPU than a one-row JSON array (no parse, no
   * unnest).
   */
  recordOne: `INSERT INTO model_config_history (${RECORD_COLUMNS})
       VALUES ($1, $6, $7, $8, $9::INTEGER, $10::INTEGER, $2, $11, $12::JSON, $13::JSON, $3, $4,
         $5::TIMESTAMP)
       RETURNING seq`,
  /** A page of config `$1`'s history older than seq `$2` (none: the newest), `$3` rows. */
  ofConfig: `SELECT ${COLUMNS} FROM model_config_history
       WHERE config_id = $1 AND ($2::BIGINT IS NULL OR seq < $2::BIGINT)
       ORDER BY seq DESC LIMIT $3`,
  /** A page of usage type `$1`'s history older than seq `$2`, `$3` rows. */
  ofUsageType: `SELECT ${COLUMNS} FROM model_config_history
       WHERE ${OF_USAGE_TYPE} AND ($2::BIGINT IS NULL OR seq < $2::BIGINT)
       ORDER BY seq DESC LIMIT $3`,
  /** The content config `$1` had at version `$2` (the newest row that wrote it). */
  version: `SELECT after FROM model_config_history
       WHERE config_id = $1 AND version = $2 AND after IS NOT NULL ORDER BY seq DESC LIMIT 1`,
  /** The highest version config `$1` ever had. */
  lastVersion: `SELECT max(version) AS version FROM model_config_history WHERE config_id = $1`,
  /** The newest seq of usage type `$1` (its chain's ETag), or NULL. */
  latestSeq: `SELECT max(seq) AS seq FROM model_config_history WHERE ${OF_USAGE_TYPE}`,
  /** Whether usage type `$1` has any history at or before `$2`. */
  knownAt: `SELECT count(*) AS n FROM model_config_history
       WHERE ${OF_USAGE_TYPE} AND changed_at <= $2::TIMESTAMP`,
  /** The configs usage type `$1` had at time `$2`: each config's newest row by then. */
  stateAt: `SELECT after FROM (
         SELECT after, row_number() OVER (PARTITION BY config_id ORDER BY seq DESC) AS newest
         FROM model_config_history
         WHERE changed_at <= $2::TIMESTAMP AND config_id IN
           (SELECT config_id FROM model_config_history WHERE ${OF_USAGE_TYPE}))
       WHERE newest = 1 AND json_extract_string(after, '$.usageType') = $1
       ORDER BY json_extract(after, '$.priority')::INTEGER`,
  /**
   * `prune`: rows older than `$1`, except the newest row of every live config (so its current
   * version can always be read and restored).
   */
  prune: `DELETE FROM model_config_history WHERE changed_at < $1::TIMESTAMP AND seq NOT IN (
         SELECT max(h.seq) FROM model_config_history h
         JOIN model_configs c ON c.id::VARCHAR = h.config_id GROUP BY h.config_id)`,
} as const;
