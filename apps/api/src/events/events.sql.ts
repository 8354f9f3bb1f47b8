/** An event's columns, in the order of the live event's fields. */
const COLUMNS = `id, operation, actor, committed_at AS "committedAt", usage_types AS "usageTypes",
  changes`;

/** Every statement about `model_config_events`; each one parameterized. */
export const EVENTS_SQL = {
  /**
   * `append`: events from one JSON array `$1` (one statement for a batch). `usage_types` and
   * `changes` are nested in it as JSON, not JSON text inside it (which would be encoded twice,
   * escaped and unescaped again: a chain of 100 is two hundred changes).
   */
  append: `INSERT INTO model_config_events
       SELECT id, change_set, operation, actor, usage_types, changes,
         committed_at::TIMESTAMP, history_seq
       FROM (SELECT unnest(from_json($1::JSON, '[{"id":"BIGINT","change_set":"VARCHAR",
         "operation":"VARCHAR","actor":"VARCHAR","usage_types":"JSON","changes":"JSON",
         "committed_at":"VARCHAR","history_seq":"BIGINT"}]'), recursive := true))`,
  /** The newest and oldest ids kept. */
  bounds: 'SELECT max(id) AS head, min(id) AS oldest FROM model_config_events',
  /** Up to `$2` events after id `$1`, oldest first. */
  since: `SELECT ${COLUMNS} FROM model_config_events WHERE id > $1 ORDER BY id LIMIT $2`,
  /** Up to `$3` events after id `$1` that touched usage type `$2`. */
  sinceOfUsageType: `SELECT ${COLUMNS} FROM model_config_events
       WHERE id > $1 AND list_contains(from_json(usage_types, '["VARCHAR"]'), $2)
       ORDER BY id LIMIT $3`,
  /**
   * History rows of change sets that have no event (a crash between commit and the event's
   * write), newer than the oldest event kept (older ones were pruned on purpose), by seq.
   */
  missing: `SELECT seq, change_set AS "changeSet", operation, actor, action, config_id AS "configId",
         usage_type AS "usageType", priority, version, after, before,
         changed_at AS "changedAt"
       FROM model_config_history
       WHERE change_set NOT IN (SELECT change_set FROM model_config_events)
         AND seq > coalesce((SELECT min(history_seq) FROM model_config_events), 0)
       ORDER BY seq`,
  /** `prune`: events older than `$1`, never the newest (it carries the id sequence on). */
  prune: `DELETE FROM model_config_events WHERE committed_at < $1::TIMESTAMP
       AND id < (SELECT max(id) FROM model_config_events)`,
} as const;
