import { useEffect, useRef, useState } from 'preact/hooks';
import type { ModelConfig } from '../types';
import { ChainRow, type RowActions } from './chain-row';

interface Props extends RowActions {
  items: ModelConfig[];
  /** Writes of single configs wait while a new order is unsaved, or while one is running. */
  locked: boolean;
  onMove: (from: number, to: number) => void;
}

/** HTML drag and drop over the rows: dropping a row on another puts it at that row's place. */
function useDrag(items: ModelConfig[], move: (from: number, to: number) => void) {
  const [dragId, setDragId] = useState<string | null>(null);
  const [overIndex, setOverIndex] = useState<number | null>(null);
  const end = () => {
    setDragId(null);
    setOverIndex(null);
  };
  const handlers = (config: ModelConfig, index: number) => ({
    draggable: true,
    onDragStart: (event: DragEvent) => {
      setDragId(config.id);
      event.dataTransfer?.setData('text/plain', config.id);
      if (event.dataTransfer) event.dataTransfer.effectAllowed = 'move';
    },
    onDragOver: (event: DragEvent) => {
      event.preventDefault();
      setOverIndex(index);
    },
    onDrop: (event: DragEvent) => {
      event.preventDefault();
      const id = dragId ?? event.dataTransfer?.getData('text/plain');
      const from = items.findIndex((item) => item.id === id);
      end();
      if (from >= 0) move(from, index);
    },
    onDragEnd: end,
  });
  return { dragId, overIndex, handlers };
}

/**
 * A chain in order, reordered by dragging a row, by the Up/Down buttons, or by Alt+Arrow keys on
 * a row's handle (focus stays on the moved row's handle).
 */
export function ChainList({ items, locked, onMove, ...actions }: Props) {
  const handles = useRef(new Map<string, HTMLButtonElement>());
  const [focusId, setFocusId] = useState<string | null>(null);
  useEffect(() => {
    if (focusId !== null) handles.current.get(focusId)?.focus();
  }, [focusId, items]);
  const move = (from: number, to: number) => {
    if (to < 0 || to >= items.length || from === to) return;
    setFocusId(items[from].id);
    onMove(from, to);
  };
  const drag = useDrag(items, move);
  return (
    <ol class="chain" aria-describedby="reorder-help">
      {items.map((config, index) => (
        <li
          key={config.id}
          class={`chain-item${drag.dragId === config.id ? ' dragging' : ''}${drag.overIndex === index ? ' over' : ''}`}
          data-id={config.id}
          data-model-id={config.modelId}
          {...drag.handlers(config, index)}
        >
          <ChainRow
            config={config}
            index={index}
            count={items.length}
            locked={locked}
            move={(delta) => move(index, index + delta)}
            handleRef={(element) => {
              if (element) handles.current.set(config.id, element);
              else handles.current.delete(config.id);
            }}
            {...actions}
          />
        </li>
      ))}
    </ol>
  );
}
