import { stringify } from 'yaml';
import {
  API,
  type RawResponse,
  expectCommonHeaders,
  expectErrorBody,
  expectNoLeak,
  rawRequest,
} from './http';

/** One config of a usage type in a configuration document (API.md §2, Configuration as code). */
export interface DocItem {
  priority: number;
  modelId: string;
  modelName: string;
  provider: string;
  enabled?: boolean;
  parameters?: Record<string, unknown>;
}

/** A configuration document. */
export interface ConfigDoc {
  usageTypes: Record<string, DocItem[]>;
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

export interface ImportOptions {
  dryRun?: boolean;
  prune?: boolean;
  /** How the document is sent: JSON (default) or YAML. */
  format?: 'json' | 'yaml';
}

/** The export and import routes of one running app, over raw HTTP (any content type, any bytes). */
export class ConfigClient {
  constructor(
    readonly url: string,
    readonly writeHeaders: Record<string, string> = {},
  ) {}

  /** `GET /config/export` (`format` as given, or none), asserted 200. */
  async exportRaw(format?: string): Promise<RawResponse> {
    const query = format === undefined ? '' : `?format=${format}`;
    const res = await rawRequest(this.url, { method: 'GET', path: `${API}/config/export${query}` });
    expectOk(res);
    return res;
  }

  /** The export as text in `format`. */
  async exportText(format: 'json' | 'yaml' = 'json'): Promise<string> {
    return (await this.exportRaw(format)).text;
  }

  /** The JSON export, parsed. */
  async exportDoc(): Promise<ConfigDoc> {
    return JSON.parse(await this.exportText('json')) as ConfigDoc;
  }

  /** `POST /config/import` with exactly `body` and `contentType` (none when null). */
  importRaw(
    body: string | Buffer,
    contentType: string | null,
    query = '',
    headers: Record<string, string> = this.writeHeaders,
  ): Promise<RawResponse> {
    const all: Record<string, string> = { ...headers };
    if (contentType !== null) all['content-type'] = contentType;
    return rawRequest(this.url, {
      method: 'POST',
      path: `${API}/config/import${query ? `?${query}` : ''}`,
      headers: all,
      body,
    });
  }

  /** Imports `doc` (serialized as JSON or YAML), asserted 200; returns the plan. */
  async importDoc(doc: unknown, options: ImportOptions = {}): Promise<ImportPlan> {
    const res = await this.importRaw(
      options.format === 'yaml' ? stringify(doc) : JSON.stringify(doc),
      options.format === 'yaml' ? 'application/yaml' : 'application/json',
      importQuery(options),
    );
    expectOk(res);
    return JSON.parse(res.text) as ImportPlan;
  }
}

/** The query string of an import. */
export function importQuery({ dryRun, prune }: ImportOptions): string {
  const parts: string[] = [];
  if (dryRun !== undefined) parts.push(`dryRun=${dryRun}`);
  if (prune !== undefined) parts.push(`prune=${prune}`);
  return parts.join('&');
}

/** Asserts a 200 with the common headers. */
export function expectOk(res: RawResponse): void {
  if (res.status !== 200) {
    expectNoLeak(res.text);
    throw new Error(`Expected 200, got ${res.status}: ${res.text.slice(0, 500)}`);
  }
  expectCommonHeaders(res.headers);
}

/** A full item with defaults filled in, as the export lists it. */
export function item(priority: number, overrides: Partial<DocItem> = {}): Required<DocItem> {
  return {
    priority,
    modelId: `model-${priority}`,
    modelName: `Model ${priority}`,
    provider: 'cac-provider',
    enabled: true,
    parameters: {},
    ...overrides,
  };
}

/** `doc` with `usageType`'s items replaced (or removed when `items` is undefined); a copy. */
export function withUsageType(doc: ConfigDoc, usageType: string, items?: DocItem[]): ConfigDoc {
  const usageTypes = new Map(Object.entries(doc.usageTypes));
  if (items === undefined) usageTypes.delete(usageType);
  else usageTypes.set(usageType, items);
  return { usageTypes: Object.fromEntries(usageTypes) };
}

/**
 * A YAML document of one usage type `ut` with one item: valid fields, replaced or added to by
 * `fields` (raw YAML values), then `extra` lines of the item as given.
 */
export function yamlItem(fields: Record<string, string> = {}, extra = ''): string {
  const all = { priority: '1', modelId: 'm', modelName: 'M', provider: 'p', ...fields };
  const lines = Object.entries(all).map(([key, value]) => `      ${key}: ${value}\n`);
  return `usageTypes:\n  ut:\n    -\n${lines.join('')}${extra}`;
}

/**
 * Imports `body` (applied, with prune) and asserts a 400 `VALIDATION_FAILED` with a message
 * containing each of `expected`; returns the messages.
 */
export async function expectImport400(
  client: ConfigClient,
  body: string | Buffer,
  contentType: string,
  ...expected: string[]
): Promise<string[]> {
  const res = await client.importRaw(body, contentType, 'prune=true');
  const messages = expectErrorBody(400, 'VALIDATION_FAILED', res).message as string[];
  for (const text of expected) {
    if (!messages.some((message) => message.includes(text))) {
      throw new Error(`No message contains "${text}": ${JSON.stringify(messages)}`);
    }
  }
  return messages;
}
