/** A ModelConfig as the API returns it (API.md §1). */
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

/** The writable fields of a ModelConfig. */
export interface ModelConfigFields {
  usageType: string;
  priority: number;
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

/** Filters and page of `GET /model-configs`. */
export interface ListFilter {
  usageType?: string;
  provider?: string;
  enabled?: boolean;
  limit: number;
  offset: number;
}
