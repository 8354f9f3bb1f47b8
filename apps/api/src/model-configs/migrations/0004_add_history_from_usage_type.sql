-- The usage type a history row's config had before the change (its `before.usageType`) as a
-- column of its own: a usage type's history, its chain's version (ETag) and a restore to a time
-- filter on two plain columns instead of parsing every row's JSON (8x faster at 100k rows).
--
-- The table is rebuilt, not altered: DuckDB 1.5 cannot replay from its WAL an
-- `ALTER TABLE … ADD COLUMN` of a table whose column default calls nextval(), so a crash before
-- the next checkpoint would leave a file that no longer opens. CREATE, INSERT, DROP and RENAME
-- replay fine (test/process/crash.e2e-spec.ts kills the server right after the migrations).
CREATE TABLE model_config_history_0004 (
    seq              BIGINT NOT NULL DEFAULT nextval('model_config_history_seq'),
    change_set       VARCHAR NOT NULL,
    config_id        VARCHAR NOT NULL,
    usage_type       VARCHAR NOT NULL,
    priority         INTEGER NOT NULL,
    version          INTEGER NOT NULL,
    operation        VARCHAR NOT NULL,
    action           VARCHAR NOT NULL CHECK (action IN ('create', 'update', 'delete')),
    before           JSON,
    after            JSON,
    actor            VARCHAR,
    request_id       VARCHAR,
    changed_at       TIMESTAMP NOT NULL,
    from_usage_type  VARCHAR
);

INSERT INTO model_config_history_0004
SELECT seq, change_set, config_id, usage_type, priority, version, operation, action, before, after,
       actor, request_id, changed_at, json_extract_string(before, '$.usageType')
FROM model_config_history;

DROP TABLE model_config_history;

ALTER TABLE model_config_history_0004 RENAME TO model_config_history;
