import type { SchemaObject } from '@nestjs/swagger';

const integer = { type: 'integer', minimum: 0 } as const;
const milliseconds = { type: 'number', minimum: 0, description: 'milliseconds' } as const;

/** OpenAPI schema of `PoolStats`, the body of `GET /health/pool`. */
export const POOL_STATS_SCHEMA: SchemaObject = {
  type: 'object',
  required: [
    'enabled',
    'min',
    'max',
    'size',
    'idle',
    'inUse',
    'waiting',
    'created',
    'acquired',
    'released',
    'timeouts',
    'healthChecks',
    'healthCheckFailures',
    'avgAcquireMs',
    'maxAcquireMs',
  ],
  properties: {
    enabled: { type: 'boolean', description: 'false: one shared connection, queries serialized' },
    min: integer,
    max: integer,
    size: { ...integer, description: 'open connections' },
    idle: integer,
    inUse: integer,
    waiting: { ...integer, description: 'callers queued for a connection' },
    created: integer,
    acquired: integer,
    released: integer,
    timeouts: integer,
    healthChecks: integer,
    healthCheckFailures: integer,
    avgAcquireMs: milliseconds,
    maxAcquireMs: milliseconds,
  },
};

/** OpenAPI schema of the `GET /health/live` body. */
export const LIVENESS_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['status'],
  properties: { status: { type: 'string', enum: ['ok'] } },
};
