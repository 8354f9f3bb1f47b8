import type { ModelConfigFields } from './model-config.types';

/**
 * Cache tags. A write invalidates only what it can change: a config's text (its name, parameters)
 * touches its id, its usage type's full-config entries and the grouped list; a structural change
 * (slot, model, provider, enabled) also its chains, the summary and the provider lists. Only
 * reset invalidates everything.
 */
export const TAG = {
  /** Full configs of a usage type: its active model, model validation. */
  configs: (usageType: string) => `configs:${usageType}`,
  /** The shape of a usage type's chain: model ids, order, enabled flags. */
  chain: (usageType: string) => `chain:${usageType}`,
  id: (id: string) => `id:${id}`,
  /** Every by-id entry: for writes that delete many rows at once. */
  ids: 'ids',
  /** Every list of full configs across usage types: grouped, unfiltered pages. */
  grouped: 'grouped',
  /** Lists of model ids and counts: usage-type summary, provider models. */
  structure: 'structure',
} as const;

/** Fields whose change reshapes chains, summaries and provider lists (not just one config's text). */
export const STRUCTURAL: readonly (keyof ModelConfigFields)[] = [
  'usageType',
  'priority',
  'modelId',
  'provider',
  'enabled',
];

/** Every tag a whole usage type's entries carry, plus the global lists. */
export const usageTypeTags = (usageType: string) => [
  TAG.configs(usageType),
  TAG.chain(usageType),
  TAG.grouped,
  TAG.structure,
];

/** Cache keys; user values are JSON-encoded so no two keys can collide. */
export const key = (kind: string, ...parts: (string | number | boolean | null)[]) =>
  `${kind}:${JSON.stringify(parts)}`;
