import { useRef, useState } from 'preact/hooks';
import { call, seg } from '../api';
import { useRunner } from '../hooks';
import type { ConfigFields, ModelConfig } from '../types';
import { chainItem, moved, useChain } from './chain-data';

const MAX_PRIORITY = 1000;

type Run = (done: string, write: () => Promise<unknown>) => Promise<void>;

/** The writes of the chain view (docs/API.md §2), each guarded by what the page last read. */
function chainWrites(usageType: string, shown: ModelConfig[], historySeq: string | null, run: Run) {
  const byId = (config: ModelConfig) => `/model-configs/${seg(config.id)}`;
  return {
    /** One atomic replace, refused (412) if the usage type changed since it was read. */
    saveOrder: () =>
      run('Order saved.', () =>
        call('PUT', `/usage-types/${seg(usageType)}/chain`, {
          body: { items: shown.map(chainItem) },
          ifMatch: historySeq,
        }),
      ),
    patch: (config: ModelConfig, body: Partial<ConfigFields>, done: string) =>
      run(done, () => call('PATCH', byId(config), { body, ifMatch: config.version })),
    add: (fields: ConfigFields) => {
      const last = Math.max(0, ...shown.map((config) => config.priority));
      const body = { usageType, priority: Math.min(last + 1, MAX_PRIORITY), ...fields };
      return run(`Added ${fields.modelId}.`, () => call('POST', '/model-configs', { body }));
    },
    remove: (config: ModelConfig) =>
      run(`Deleted ${config.modelId}.`, () =>
        call('DELETE', byId(config), { ifMatch: config.version }),
      ),
  };
}

/** The state of the chain view: the chain, an unsaved new order, the open form, its writes. */
export function useChainEditor(usageType: string) {
  const [order, setOrder] = useState<ModelConfig[] | null>(null);
  const dirty = useRef(false);
  dirty.current = order !== null;
  const chain = useChain(usageType, () => dirty.current);
  const [editing, setEditing] = useState<ModelConfig | null>(null);
  const [adding, setAdding] = useState(false);
  const [announcement, setAnnouncement] = useState('');
  const shown = order ?? chain.configs ?? [];
  const { busy, run } = useRunner(chain.setError);
  const writes = chainWrites(usageType, shown, chain.historySeq, (done, write) =>
    run(async () => {
      await write();
      setOrder(null);
      setEditing(null);
      setAdding(false);
      setAnnouncement(done);
      await chain.load();
    }),
  );
  const reload = () => {
    setOrder(null);
    setEditing(null);
    chain.setError(null);
    void chain.load();
  };
  const move = (from: number, to: number) => {
    setOrder(moved(shown, from, to));
    const where = `position ${to + 1} of ${shown.length}`;
    setAnnouncement(`Moved ${shown[from].modelId} to ${where}. Save order to apply.`);
  };
  const discardOrder = () => setOrder(null);
  return {
    ...{ usageType, chain, shown, order, editing, adding, busy, announcement },
    ...{ setEditing, setAdding, discardOrder, reload, move, ...writes },
  };
}

/** What {@link useChainEditor} returns. */
export type ChainEditor = ReturnType<typeof useChainEditor>;
