import { stringify } from 'yaml';
import type { ModelConfig } from '../model-configs/model-config.types';
import type { DocumentItem } from './config-document';
import { canonicalJson, compareCodePoints } from './document-data';

/** The exported document: `{ usageTypes: { "<usageType>": [item, …] } }`. */
export interface ExportDocument {
  usageTypes: Record<string, DocumentItem[]>;
}

/** The formats of `GET /config/export`. */
export type ExportFormat = 'json' | 'yaml';

/** Content types of the exported document, by format. */
export const EXPORT_CONTENT_TYPES: Record<ExportFormat, string> = {
  json: 'application/json; charset=utf-8',
  yaml: 'application/yaml; charset=utf-8',
};

/**
 * YAML output that only depends on the data: no line folding, no anchors for equal objects, map
 * entries in the order given (already canonical), YAML 1.2 (the core schema the importer reads).
 */
const YAML_OUTPUT = {
  version: '1.2',
  lineWidth: 0,
  aliasDuplicateObjects: false,
  sortMapEntries: false,
} as const;

/**
 * Every config as a document without server fields, in a stable order: usage types by code
 * point, items by priority, item keys in a fixed order (priority, modelId, modelName, provider, enabled, parameters), `parameters` keys by code
 * point at every depth. The same state always gives the same document.
 */
export function toExportDocument(configs: ModelConfig[]): ExportDocument {
  // Usage types are data (`constructor` is a valid one): grouped in a Map, then turned into an
  // object with own data properties only.
  const grouped = new Map<string, DocumentItem[]>();
  for (const config of configs) {
    let items = grouped.get(config.usageType);
    if (items === undefined) grouped.set(config.usageType, (items = []));
    items.push({
      priority: config.priority,
      modelId: config.modelId,
      modelName: config.modelName,
      provider: config.provider,
      enabled: config.enabled,
      parameters: canonicalJson(config.parameters) as Record<string, unknown>,
    });
  }
  const usageTypes = [...grouped.keys()].sort(compareCodePoints);
  return {
    usageTypes: Object.fromEntries(
      usageTypes.map((usageType) => [
        usageType,
        (grouped.get(usageType) as DocumentItem[]).sort((a, b) => a.priority - b.priority),
      ]),
    ),
  };
}

/** The document as text: JSON with 2-space indentation, or YAML; both end with a newline. */
export function renderDocument(document: ExportDocument, format: ExportFormat): string {
  return format === 'yaml'
    ? stringify(document, YAML_OUTPUT)
    : `${JSON.stringify(document, null, 2)}\n`;
}
