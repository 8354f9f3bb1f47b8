import type { ModelConfig, ModelConfigFields } from '../model-configs/model-config.types';
import type { ConfigDocument, DocumentItem } from './config-document';
import { canonicalJson, compareCodePoints, sameJson } from './document-data';

/** What an import does to one `(usageType, priority)` slot. */
export type PlanAction = 'create' | 'update' | 'delete' | 'unchanged';

/** A changed field of an update: the stored value and the document's. */
export interface FieldChange {
  from: unknown;
  to: unknown;
}

/** One slot of a plan, as the API answers it. */
export interface PlanChange {
  action: PlanAction;
  usageType: string;
  priority: number;
  /** The document's model (create, update, unchanged) or the deleted config's (delete). */
  modelId: string;
  /** Updates only: each changed field, in document order. */
  fields?: Record<string, FieldChange>;
}

/** The answer of `POST /config/import`. */
export interface ImportPlan {
  dryRun: boolean;
  applied: boolean;
  summary: Record<PlanAction, number>;
  changes: PlanChange[];
}

/** One slot of a plan with what applying it needs. */
export type PlanStep =
  | { action: 'create'; change: PlanChange; fields: ModelConfigFields }
  | { action: 'update'; change: PlanChange; current: ModelConfig; fields: ModelConfigFields }
  | { action: 'delete'; change: PlanChange; current: ModelConfig }
  | { action: 'unchanged'; change: PlanChange };

/** The fields compared between a stored config and a document item (slots are the identity). */
const COMPARED = ['modelId', 'modelName', 'provider', 'enabled', 'parameters'] as const;

/**
 * The plan that turns `current` (every stored config) into `document`: per slot of the document,
 * create, update (with the changed fields) or unchanged; with `prune`, a delete for every stored
 * config whose slot the document lacks. Ordered by usage type (code point), then priority.
 */
export function planImport(
  current: ModelConfig[],
  document: ConfigDocument,
  prune: boolean,
): PlanStep[] {
  // Usage types are data (`constructor` is a valid one): Maps, never object keys.
  const stored = new Map<string, Map<number, ModelConfig>>();
  for (const config of current) {
    let slots = stored.get(config.usageType);
    if (slots === undefined) stored.set(config.usageType, (slots = new Map()));
    slots.set(config.priority, config);
  }
  const steps: PlanStep[] = [];
  for (const [usageType, items] of document.usageTypes) {
    const slots = stored.get(usageType);
    for (const item of items) {
      steps.push(stepFor(usageType, item, slots?.get(item.priority)));
      slots?.delete(item.priority);
    }
  }
  if (prune) {
    for (const slots of stored.values()) {
      for (const config of slots.values()) {
        steps.push({ action: 'delete', change: changeOf('delete', config), current: config });
      }
    }
  }
  return steps.sort(
    (a, b) =>
      compareCodePoints(a.change.usageType, b.change.usageType) ||
      a.change.priority - b.change.priority,
  );
}

/** The answer for `steps`: the summary by action and the changes in plan order. */
export function toImportPlan(steps: PlanStep[], dryRun: boolean): ImportPlan {
  const summary: Record<PlanAction, number> = { create: 0, update: 0, delete: 0, unchanged: 0 };
  for (const step of steps) summary[step.action]++;
  return { dryRun, applied: !dryRun, summary, changes: steps.map((step) => step.change) };
}

function stepFor(usageType: string, item: DocumentItem, config: ModelConfig | undefined): PlanStep {
  const fields: ModelConfigFields = { usageType, ...item };
  const target = { usageType, priority: item.priority, modelId: item.modelId };
  if (config === undefined) return { action: 'create', change: changeOf('create', target), fields };
  const changed = COMPARED.filter((name) =>
    name === 'parameters'
      ? !sameJson(config.parameters, item.parameters)
      : config[name] !== item[name],
  );
  if (changed.length === 0) return { action: 'unchanged', change: changeOf('unchanged', target) };
  const change = changeOf('update', target);
  change.fields = Object.fromEntries(
    changed.map((name) => [name, fieldChange(config[name], item[name], name === 'parameters')]),
  );
  return { action: 'update', change, current: config, fields };
}

function fieldChange(from: unknown, to: unknown, json: boolean): FieldChange {
  return json ? { from: canonicalJson(from), to: canonicalJson(to) } : { from, to };
}

function changeOf(
  action: PlanAction,
  slot: { usageType: string; priority: number; modelId: string },
): PlanChange {
  return { action, usageType: slot.usageType, priority: slot.priority, modelId: slot.modelId };
}
