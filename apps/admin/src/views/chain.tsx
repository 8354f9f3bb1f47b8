import { ErrorBanner } from '../components/error-banner';
import { href } from '../router';
import { chainItem } from './chain-data';
import { type ChainEditor, useChainEditor } from './chain-editor';
import { ChainList } from './chain-list';
import { ConfigForm } from './config-form';

function Notices({ editor }: { editor: ChainEditor }) {
  const { chain } = editor;
  return (
    <>
      <p class="sr-only" id="reorder-help">
        To reorder, drag a row, use its Up and Down buttons, or press Alt+Arrow Up or Alt+Arrow Down
        on its handle. Then save the order.
      </p>
      <p class="sr-only" role="status" aria-live="polite" data-testid="announcer">
        {editor.announcement}
      </p>
      {chain.error !== null && (
        <ErrorBanner
          error={chain.error}
          onReload={editor.reload}
          onDismiss={() => chain.setError(null)}
        />
      )}
      {chain.staleDraft && (
        <div class="banner" role="status">
          This chain changed elsewhere while you were reordering.{' '}
          <button type="button" onClick={editor.reload}>
            Discard my order and reload
          </button>
        </div>
      )}
      {chain.configs === null && chain.error === null && <p aria-busy="true">Loading…</p>}
      {chain.configs !== null && editor.shown.length === 0 && (
        <p>No configs for this usage type yet: add the first one below.</p>
      )}
    </>
  );
}

function Forms({ editor }: { editor: ChainEditor }) {
  const { editing, busy } = editor;
  return (
    <>
      {editing !== null && (
        <ConfigForm
          key={editing.id}
          id="edit"
          legend={`Edit ${editing.modelId} (version ${editing.version})`}
          initial={chainItem(editing)}
          submitLabel="Save changes"
          busy={busy}
          onSubmit={(fields) => void editor.patch(editing, fields, `Saved ${fields.modelId}.`)}
          onCancel={() => editor.setEditing(null)}
        />
      )}
      {editor.adding ? (
        <ConfigForm
          id="add"
          legend="Add a config at the end of the chain"
          submitLabel="Add"
          busy={busy}
          onSubmit={(fields) => void editor.add(fields)}
          onCancel={() => editor.setAdding(false)}
        />
      ) : (
        <button
          type="button"
          disabled={busy || editor.order !== null}
          onClick={() => editor.setAdding(true)}
        >
          Add a config
        </button>
      )}
    </>
  );
}

/** A usage type's chain: reorder (saved as one atomic replace), enable, add, edit, delete. */
export function ChainView({ usageType }: { usageType: string }) {
  const editor = useChainEditor(usageType);
  const { busy, order } = editor;
  return (
    <section aria-labelledby="chain-heading">
      <p class="crumbs">
        <a href={href({ view: 'usage-types' })}>Usage types</a> ·{' '}
        <a href={href({ view: 'history', usageType })}>History of {usageType}</a>
      </p>
      <h1 id="chain-heading">
        Chain of <code>{usageType}</code>
      </h1>
      <Notices editor={editor} />
      <ChainList
        items={editor.shown}
        locked={busy || order !== null}
        onMove={editor.move}
        onToggle={(config) => {
          const done = `${config.modelId} ${config.enabled ? 'disabled' : 'enabled'}.`;
          void editor.patch(config, { enabled: !config.enabled }, done);
        }}
        onEdit={editor.setEditing}
        onDelete={(config) => void editor.remove(config)}
      />
      {order !== null && (
        <div class="actions sticky">
          <button type="button" class="primary" disabled={busy} onClick={editor.saveOrder}>
            Save order
          </button>
          <button type="button" onClick={editor.discardOrder}>
            Discard order
          </button>
        </div>
      )}
      <Forms editor={editor} />
    </section>
  );
}
