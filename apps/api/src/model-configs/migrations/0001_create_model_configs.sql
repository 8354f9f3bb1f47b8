-- ModelConfig: which LLM model serves one usage type at one priority (API.md §1).
CREATE TABLE model_configs (
    id          UUID PRIMARY KEY,
    usage_type  VARCHAR NOT NULL,
    priority    INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 1000),
    model_id    VARCHAR NOT NULL,
    model_name  VARCHAR NOT NULL,
    provider    VARCHAR NOT NULL,
    parameters  JSON NOT NULL DEFAULT '{}',
    enabled     BOOLEAN NOT NULL DEFAULT TRUE,
    version     INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    UNIQUE (usage_type, priority)
);

-- Hot reads: a usage type's chain and active model, a provider's models.
CREATE INDEX model_configs_usage_type ON model_configs (usage_type);
CREATE INDEX model_configs_provider ON model_configs (provider);
