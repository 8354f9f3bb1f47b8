-- Every change of a ModelConfig, written in the transaction of the change (API.md §2, History).
-- `seq` orders changes; one `change_set` groups the rows of one transaction (a chain replace, an
-- import). `before`/`after` are the whole config as the API returns it (NULL: did not exist).
CREATE SEQUENCE model_config_history_seq START 1;

CREATE TABLE model_config_history (
    seq         BIGINT NOT NULL DEFAULT nextval('model_config_history_seq'),
    change_set  VARCHAR NOT NULL,
    config_id   VARCHAR NOT NULL,
    usage_type  VARCHAR NOT NULL,
    priority    INTEGER NOT NULL,
    version     INTEGER NOT NULL,
    operation   VARCHAR NOT NULL,
    action      VARCHAR NOT NULL CHECK (action IN ('create', 'update', 'delete')),
    before      JSON,
    after       JSON,
    actor       VARCHAR,
    request_id  VARCHAR,
    changed_at  TIMESTAMP NOT NULL
);
