import { useState } from 'preact/hooks';
import type { ModelConfig } from '../types';

/** What a row can ask for besides moving. */
export interface RowActions {
  onToggle: (config: ModelConfig) => void;
  onEdit: (config: ModelConfig) => void;
  onDelete: (config: ModelConfig) => void;
}

interface Props extends RowActions {
  config: ModelConfig;
  index: number;
  count: number;
  locked: boolean;
  /** Moves the row up (-1) or down (+1). */
  move: (delta: number) => void;
  handleRef: (element: HTMLButtonElement | null) => void;
}

function Summary({ config }: { config: ModelConfig }) {
  const parameters = Object.keys(config.parameters).length > 0;
  return (
    <div class="what">
      <strong class="wrap">{config.modelName}</strong> <code class="wrap">{config.modelId}</code>
      <span class="meta">
        {config.provider} · v{config.version} ·{' '}
        <span class={config.enabled ? 'badge on' : 'badge off'}>
          {config.enabled ? 'enabled' : 'disabled'}
        </span>
      </span>
      {parameters && <code class="params wrap">{JSON.stringify(config.parameters)}</code>}
    </div>
  );
}

function DeleteButton(props: { config: ModelConfig; disabled: boolean; onDelete: () => void }) {
  const [confirming, setConfirming] = useState(false);
  const { modelId } = props.config;
  if (!confirming) {
    return (
      <button
        type="button"
        class="danger"
        aria-label={`Delete ${modelId}`}
        disabled={props.disabled}
        onClick={() => setConfirming(true)}
      >
        Delete
      </button>
    );
  }
  return (
    <>
      <button type="button" class="danger strong" onClick={props.onDelete}>
        Confirm delete of {modelId}
      </button>
      <button type="button" onClick={() => setConfirming(false)}>
        Keep
      </button>
    </>
  );
}

/** One config of a chain: its handle (Alt+Arrow keys move it), what it is, and its buttons. */
export function ChainRow({ config, index, count, locked, move, handleRef, ...on }: Props) {
  const { modelId } = config;
  return (
    <>
      <button
        type="button"
        class="handle"
        aria-label={`Reorder ${modelId}, position ${index + 1} of ${count}`}
        ref={handleRef}
        onKeyDown={(event) => {
          if (!event.altKey || (event.key !== 'ArrowUp' && event.key !== 'ArrowDown')) return;
          event.preventDefault();
          move(event.key === 'ArrowUp' ? -1 : 1);
        }}
      >
        <span aria-hidden="true">⠿</span>
      </button>
      <span class="pos" aria-hidden="true">
        {index + 1}
      </span>
      <Summary config={config} />
      <div class="actions">
        <button
          type="button"
          aria-label={`Move ${modelId} up`}
          disabled={index === 0}
          onClick={() => move(-1)}
        >
          Up
        </button>
        <button
          type="button"
          aria-label={`Move ${modelId} down`}
          disabled={index === count - 1}
          onClick={() => move(1)}
        >
          Down
        </button>
        <button
          type="button"
          aria-label={`${config.enabled ? 'Disable' : 'Enable'} ${modelId}`}
          disabled={locked}
          onClick={() => on.onToggle(config)}
        >
          {config.enabled ? 'Disable' : 'Enable'}
        </button>
        <button
          type="button"
          aria-label={`Edit ${modelId}`}
          disabled={locked}
          onClick={() => on.onEdit(config)}
        >
          Edit
        </button>
        <DeleteButton config={config} disabled={locked} onDelete={() => on.onDelete(config)} />
      </div>
    </>
  );
}
