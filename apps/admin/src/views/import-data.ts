import { call } from '../api';
import type { ImportPlan } from '../types';

/** JSON when the document looks like JSON, YAML otherwise (the server takes both). */
export function contentTypeOf(text: string): string {
  return /^\s*[{[]/.test(text) ? 'application/json' : 'application/yaml';
}

/** `POST /config/import`: the plan (dry run) or the plan applied, optionally pruning. */
export async function importDocument(
  text: string,
  dryRun: boolean,
  prune: boolean,
): Promise<ImportPlan> {
  const query = `dryRun=${dryRun}${prune ? '&prune=true' : ''}`;
  const { data } = await call<ImportPlan>('POST', `/config/import?${query}`, {
    text,
    contentType: contentTypeOf(text),
  });
  return data;
}

/** The current configuration as a YAML document (`GET /config/export?format=yaml`). */
export async function exportYaml(): Promise<string> {
  return (await call<string>('GET', '/config/export?format=yaml', {}, true)).data;
}
