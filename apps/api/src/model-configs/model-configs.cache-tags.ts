import type { ModelConfigFields } from './model-config.types';

/**
 * Cache tags. A write invalidates only what it can change: a config's text (its name, parameters)
 * touches its id, its usage type's full-config entries, the grouped list and its provider's
 * pages; a structural change (slot, model, provider, enabled) also its chains, the summary and the
 * provider model lists, before and after. Only reset invalidates everything.
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
  /** Pages filtered by provider but not by usage type: they show only that provider's configs. */
  provider: (provider: string) => `provider-configs:${provider}`,
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
const usageTypeTags = (usageType: string) => [
  TAG.configs(usageType),
  TAG.chain(usageType),
  TAG.grouped,
  TAG.structure,
];

/** The tag a list page carries: its usage type's, else its provider's, else the grouped tag. */
export const listTag = (usageType?: string, provider?: string): string =>
  usageType !== undefined
    ? TAG.configs(usageType)
    : provider !== undefined
      ? TAG.provider(provider)
      : TAG.grouped;

/**
 * What a write that creates, deletes or restructures `configs` (each one's image before and after
 * the write) invalidates: their usage types' entries, the global lists and their providers' pages.
 */
export const changeTags = (
  configs: Iterable<Pick<ModelConfigFields, 'usageType' | 'provider'> | null>,
): string[] => {
  const tags = new Set<string>();
  for (const config of configs) {
    if (!config) continue;
    for (const tag of usageTypeTags(config.usageType)) tags.add(tag);
    tags.add(TAG.provider(config.provider));
  }
  return [...tags];
};

/** Cache keys; user values are JSON-encoded so no two keys can collide. */
export const key = (kind: string, ...parts: (string | number | boolean | null)[]) =>
  `${kind}:${JSON.stringify(parts)}`;
