import type { Connection } from './db';
import { HttpError } from './http';
import {
  type Config,
  type Fields,
  fieldParams,
  insertManySql,
  type ListQuery,
  listSql,
  SQL,
  toConfig,
} from './sql';

/** One item of a chain replace: `parameters` and `enabled` may be omitted. */
export type ChainItem = Pick<Fields, 'modelId' | 'modelName' | 'provider'> &
  Partial<Pick<Fields, 'parameters' | 'enabled'>>;

/** The one config `sql` selects with `param`, if any. */
export async function loadOne(c: Connection, sql: string, param: string) {
  const [row] = await c.query(sql, [param]);
  return row && toConfig(row);
}

/** `{usageType, modelIds}` of the enabled configs, or undefined without any config. */
export async function loadChain(c: Connection, usageType: string) {
  const rows = await c.query(SQL.chain, [usageType]);
  if (rows.length === 0) return undefined;
  return { usageType, modelIds: rows.filter((row) => row.enabled).map((row) => row.model_id) };
}

/** Every config by usage type, each list by priority. */
export async function loadGrouped(c: Connection) {
  const grouped = new Map<string, Config[]>();
  for (const config of (await c.query(SQL.all)).map(toConfig)) {
    const list = grouped.get(config.usageType);
    if (list) list.push(config);
    else grouped.set(config.usageType, [config]);
  }
  return Object.fromEntries(grouped);
}

/** A page of `GET /model-configs`. */
export async function loadList(c: Connection, q: ListQuery) {
  const sql = listSql(q);
  const rows = await c.query(sql.page, [...sql.params, q.limit, q.offset]);
  const total =
    rows.length > 0 ? rows[0].total : ((await c.query(sql.total, sql.params))[0]?.total ?? 0);
  return { items: rows.map(toConfig), total: Number(total), limit: q.limit, offset: q.offset };
}

/** Applies `changes` to config `id` inside the caller's transaction; returns it before and after. */
export async function patchConfig(
  c: Connection,
  id: string,
  changes: Partial<Fields>,
  ifMatch: '*' | number[] | undefined,
): Promise<{ before: Config; after: Config }> {
  const current = await loadOne(c, SQL.byId, id);
  if (!current) throw new HttpError(404, 'NOT_FOUND', 'Model config not found.');
  if (ifMatch !== undefined && ifMatch !== '*' && !ifMatch.includes(current.version))
    throw new HttpError(412, 'VERSION_MISMATCH', 'The config has another version.');
  const next: Fields = { ...current, ...changes };
  if (!changed(current, next)) return { before: current, after: current };
  const now = new Date().toISOString();
  const [updated] = await c.query(SQL.update, [current.id, ...fieldParams(next), now]);
  return { before: current, after: toConfig(updated) };
}

/** Replaces every config of `usageType` with `items` at priorities 1..n, in the caller's transaction. */
export async function replaceChain(
  c: Connection,
  usageType: string,
  items: readonly ChainItem[],
): Promise<Config[]> {
  const params = items.flatMap((item, i) =>
    fieldParams({ parameters: {}, enabled: true, ...item, usageType, priority: i + 1 }),
  );
  await c.query(SQL.deleteUsageType, [usageType]);
  const rows = await c.query(insertManySql(items.length), [...params, new Date().toISOString()]);
  return rows.map(toConfig).sort((a, b) => a.priority - b.priority);
}

function changed(current: Config, next: Fields): boolean {
  return (
    current.usageType !== next.usageType ||
    current.priority !== next.priority ||
    current.modelId !== next.modelId ||
    current.modelName !== next.modelName ||
    current.provider !== next.provider ||
    current.enabled !== next.enabled ||
    JSON.stringify(current.parameters) !== JSON.stringify(next.parameters)
  );
}
