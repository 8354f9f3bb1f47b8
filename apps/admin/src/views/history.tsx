import { useState } from 'preact/hooks';
import { ErrorBanner } from '../components/error-banner';
import { useRunner } from '../hooks';
import { href } from '../router';
import type { HistoryItem } from '../types';
import { Diff } from './diff';
import { restoreChain, restoreConfig, useHistory } from './history-data';

interface RowProps {
  row: HistoryItem;
  busy: boolean;
  onRestore: (row: HistoryItem) => void;
  onRestoreChain: (row: HistoryItem) => void;
}

function HistoryRow({ row, busy, onRestore, onRestoreChain }: RowProps) {
  const config = row.after ?? row.before;
  const when = new Date(row.changedAt);
  return (
    <li class="history-item" data-seq={row.seq} data-action={row.action}>
      <div class="history-head">
        <span class={`badge action-${row.action}`}>{row.action}</span>{' '}
        <strong class="wrap">{config?.modelId ?? row.configId}</strong>{' '}
        <span class="meta">
          #{row.priority} · v{row.version} · {row.operation} by {row.actor ?? 'anonymous'} ·{' '}
          <time dateTime={row.changedAt}>{when.toLocaleString()}</time> · seq {row.seq}
        </span>
      </div>
      <details>
        <summary>Show changes (seq {row.seq})</summary>
        <Diff before={row.before} after={row.after} />
      </details>
      <div class="actions">
        <button type="button" disabled={busy} onClick={() => onRestore(row)}>
          Restore this version
        </button>
        <button type="button" disabled={busy} onClick={() => onRestoreChain(row)}>
          Restore whole chain to this point
        </button>
      </div>
    </li>
  );
}

/** A usage type's history with a diff of every change and restores, of one config or all. */
export function HistoryView({ usageType }: { usageType: string }) {
  const history = useHistory(usageType);
  const [done, setDone] = useState('');
  const { busy, run: runner } = useRunner(history.setError);
  const run = (message: string, write: () => Promise<unknown>) =>
    runner(async () => {
      await write();
      setDone(message);
      await history.load();
    });
  const items = history.items ?? [];
  return (
    <section aria-labelledby="history-heading">
      <p class="crumbs">
        <a href={href({ view: 'usage-types' })}>Usage types</a> ·{' '}
        <a href={href({ view: 'chain', usageType })}>Chain of {usageType}</a>
      </p>
      <h1 id="history-heading">
        History of <code>{usageType}</code>
      </h1>
      <p class="status-line" role="status">
        {done}
      </p>
      {history.error !== null && (
        <ErrorBanner error={history.error} onReload={() => void history.load()} />
      )}
      {history.items === null && history.error === null && <p aria-busy="true">Loading…</p>}
      {history.items !== null && items.length === 0 && <p>No changes recorded yet.</p>}
      <ol class="history">
        {items.map((row) => (
          <HistoryRow
            key={row.seq}
            row={row}
            busy={busy}
            onRestore={(r) =>
              void run(
                `Restored ${r.after?.modelId ?? r.before?.modelId} to version ${r.version}.`,
                () => restoreConfig(items, r),
              )
            }
            onRestoreChain={(r) =>
              void run(`Restored the chain as it was at seq ${r.seq}.`, () =>
                restoreChain(usageType, history.seq, r),
              )
            }
          />
        ))}
      </ol>
      {history.cursor !== null && (
        <button type="button" onClick={() => void history.more()}>
          Load older changes
        </button>
      )}
    </section>
  );
}
