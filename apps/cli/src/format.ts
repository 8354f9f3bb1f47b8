/** Colours, tables and the import plan's diff: pure functions from data to text. */

/** Text styles; each is the identity when colour is off. */
export interface Palette {
  readonly enabled: boolean;
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
}

const style =
  (enabled: boolean, open: number, close: number) =>
  (text: string): string =>
    enabled ? `\u001b[${open}m${text}\u001b[${close}m` : text;

/** Plain ANSI escapes (no dependency), or none at all. */
export function palette(enabled: boolean): Palette {
  return {
    enabled,
    bold: style(enabled, 1, 22),
    dim: style(enabled, 2, 22),
    red: style(enabled, 31, 39),
    green: style(enabled, 32, 39),
    yellow: style(enabled, 33, 39),
    cyan: style(enabled, 36, 39),
  };
}

/**
 * Whether to colour stdout: `--color` / `--no-color` decide when given; otherwise only a TTY
 * without `NO_COLOR` (https://no-color.org) gets colour.
 */
export function colorWanted(
  flag: boolean | undefined,
  env: NodeJS.ProcessEnv,
  isTty: boolean,
): boolean {
  if (flag !== undefined) return flag;
  return isTty && (env.NO_COLOR === undefined || env.NO_COLOR === '');
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;
const visibleLength = (text: string): number => text.replace(ANSI, '').length;

/** A column of {@link table}: its heading, and whether to align it right (numbers). */
export interface Column {
  title: string;
  right?: boolean;
}

/** Rows under headings, columns padded to their widest cell (colour codes not counted). */
export function table(columns: Column[], rows: string[][], colors: Palette): string {
  const widths = columns.map((column, i) =>
    Math.max(visibleLength(column.title), ...rows.map((row) => visibleLength(row[i] ?? ''))),
  );
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => {
        const pad = ' '.repeat(widths[i] - visibleLength(cell));
        if (i === cells.length - 1 && !columns[i].right) return cell;
        return columns[i].right ? pad + cell : cell + pad;
      })
      .join('  ');
  const head = colors.bold(line(columns.map((column) => column.title)));
  return [head, ...rows.map(line)].join('\n') + '\n';
}

/** A value of a changed field, as JSON (strings quoted, objects compact). */
export function showValue(value: unknown): string {
  return value === undefined ? '(none)' : JSON.stringify(value);
}

/** `a → b`, or just `a` when both are the same. */
export function arrow(from: string | undefined, to: string | undefined): string {
  if (from === undefined) return to ?? '';
  if (to === undefined || to === from) return from;
  return `${from} → ${to}`;
}

/** One slot of an import plan (`POST /api/v1/config/import`). */
export interface PlanChange {
  action: 'create' | 'update' | 'delete' | 'unchanged';
  usageType: string;
  priority: number;
  modelId: string;
  /** For an update: each changed field's old and new value. */
  fields?: Record<string, { from: unknown; to: unknown }>;
}

/** The answer of `POST /api/v1/config/import`. */
export interface ImportPlan {
  dryRun: boolean;
  applied: boolean;
  summary: { create: number; update: number; delete: number; unchanged: number };
  changes: PlanChange[];
}

/** True when applying the plan would write something. */
export const planChanges = (plan: ImportPlan): number =>
  plan.summary.create + plan.summary.update + plan.summary.delete;

const slot = (change: PlanChange): string => `${change.usageType} #${change.priority}`;

/** One change of the diff, with its changed fields under an update. */
function planLines(change: PlanChange, colors: Palette, verbose: boolean): string[] {
  const where = `${slot(change)}  ${change.modelId}`;
  switch (change.action) {
    case 'create':
      return [colors.green(`+ create     ${where}`)];
    case 'delete':
      return [colors.red(`- delete     ${where}`)];
    case 'update':
      return [
        colors.yellow(`~ update     ${where}`),
        ...Object.entries(change.fields ?? {}).map(
          ([field, { from, to }]) =>
            `      ${field}: ${colors.red(showValue(from))} → ${colors.green(showValue(to))}`,
        ),
      ];
    default:
      return verbose ? [colors.dim(`  unchanged  ${where}`)] : [];
  }
}

/** The plan's summary line: what a dry run would do, or what was done. */
export function planSummary(plan: ImportPlan): string {
  const { create, update, delete: remove, unchanged } = plan.summary;
  if (plan.dryRun) {
    return `Dry run: ${create} to create, ${update} to update, ${remove} to delete, ${unchanged} unchanged; nothing written.`;
  }
  if (!plan.applied && planChanges(plan) === 0) {
    return `Nothing to change: ${unchanged} unchanged.`;
  }
  return `Applied: ${create} created, ${update} updated, ${remove} deleted, ${unchanged} unchanged.`;
}

/**
 * The plan as a coloured diff: `+` create, `~` update (with `field: from → to` lines), `-`
 * delete; unchanged slots are counted (listed with `verbose`); then the summary line.
 */
export function formatPlan(plan: ImportPlan, colors: Palette, verbose = false): string {
  const lines = plan.changes.flatMap((change) => planLines(change, colors, verbose));
  const unchanged = plan.summary.unchanged;
  if (!verbose && unchanged > 0) {
    lines.push(colors.dim(`  (${unchanged} unchanged)`));
  }
  lines.push(colors.bold(planSummary(plan)));
  return lines.join('\n') + '\n';
}

/** A config as a history row carries it (`before`/`after`). */
interface HistoryConfig {
  modelId: string;
}

/** One row of `GET …/history` (docs/API.md §2, History). */
export interface HistoryEntry {
  seq: number;
  configId: string;
  usageType: string;
  priority: number;
  version: number;
  operation: string;
  action: 'create' | 'update' | 'delete';
  before: HistoryConfig | null;
  after: HistoryConfig | null;
  actor: string | null;
  changedAt: string;
}

/** A page of history, newest first. */
export interface HistoryPage {
  items: HistoryEntry[];
  nextCursor: string | null;
}

function actionCell(action: HistoryEntry['action'], colors: Palette): string {
  if (action === 'create') return colors.green(action);
  if (action === 'delete') return colors.red(action);
  return colors.yellow(action);
}

/** History rows as a table: seq, time, actor, operation, action, priority, modelId, version. */
export function formatHistory(items: HistoryEntry[], colors: Palette): string {
  const columns: Column[] = [
    { title: 'seq', right: true },
    { title: 'time' },
    { title: 'actor' },
    { title: 'operation' },
    { title: 'action' },
    { title: 'priority', right: true },
    { title: 'modelId' },
    { title: 'version', right: true },
  ];
  const rows = items.map((entry) => [
    String(entry.seq),
    entry.changedAt,
    entry.actor ?? '-',
    entry.operation,
    actionCell(entry.action, colors),
    String(entry.priority),
    arrow(entry.before?.modelId, entry.after?.modelId),
    String(entry.version),
  ]);
  return table(columns, rows, colors);
}
