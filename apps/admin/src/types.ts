/** A ModelConfig as the API returns it (docs/API.md §1). */
export interface ModelConfig {
  id: string;
  usageType: string;
  priority: number;
  modelId: string;
  modelName: string;
  provider: string;
  parameters: Record<string, unknown>;
  enabled: boolean;
  version: number;
  createdAt: string;
  updatedAt: string;
}

/** The fields a user edits: what a chain item, a create and a patch carry. */
export interface ConfigFields {
  modelId: string;
  modelName: string;
  provider: string;
  parameters: Record<string, unknown>;
  enabled: boolean;
}

/** One row of `GET /usage-types`. */
export interface UsageTypeSummary {
  usageType: string;
  total: number;
  enabled: number;
  activeModelId: string | null;
}

/** One row of a usage type's history. */
export interface HistoryItem {
  seq: number;
  changeSet: string;
  configId: string;
  usageType: string;
  priority: number;
  version: number;
  operation: string;
  action: 'create' | 'update' | 'delete';
  before: ModelConfig | null;
  after: ModelConfig | null;
  actor: string | null;
  requestId: string | null;
  changedAt: string;
}

/** A page of history. */
export interface HistoryPage {
  items: HistoryItem[];
  nextCursor: string | null;
}

/** One slot of an import plan. */
export interface PlanChange {
  action: 'create' | 'update' | 'delete' | 'unchanged';
  usageType: string;
  priority: number;
  modelId: string;
  fields?: Record<string, { from: unknown; to: unknown }>;
}

/** The answer of `POST /config/import`. */
export interface ImportPlan {
  dryRun: boolean;
  applied: boolean;
  summary: { create: number; update: number; delete: number; unchanged: number };
  changes: PlanChange[];
}
