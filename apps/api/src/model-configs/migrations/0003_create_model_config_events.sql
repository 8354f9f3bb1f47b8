-- The change stream's log (API.md §2, Change stream): one row per committed change set, with ids
-- that increase in commit order. Written by the process right after each commit (history rows
-- are the durable record; a change set whose event was not written before a crash gets one at
-- the next start).
CREATE TABLE model_config_events (
    id            BIGINT NOT NULL,
    change_set    VARCHAR NOT NULL,
    operation     VARCHAR NOT NULL,
    actor         VARCHAR,
    usage_types   JSON NOT NULL,
    changes       JSON NOT NULL,
    committed_at  TIMESTAMP NOT NULL,
    -- The newest history row of the change set: what recovery after a crash starts from.
    history_seq   BIGINT NOT NULL
);
