import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { call, etagValue, seg } from '../api';
import { useLiveRefresh } from '../live';
import type { ConfigFields, HistoryPage, ModelConfig } from '../types';

/** A usage type's chain as the server has it, with the history ETag that guards a chain replace. */
export interface ChainData {
  configs: ModelConfig[] | null;
  /** The newest history seq of the usage type when the chain was read (`If-Match` of a replace). */
  historySeq: string | null;
  error: unknown;
  setError: (error: unknown) => void;
  load: () => Promise<void>;
  /** True when a change arrived from elsewhere while a new order was unsaved. */
  staleDraft: boolean;
}

/**
 * Loads a chain and keeps it current: on a change event for the usage type it refetches, unless
 * `holdRefresh()` (an unsaved new order); then it only notes that the draft is stale.
 */
export function useChain(usageType: string, holdRefresh: () => boolean): ChainData {
  const [configs, setConfigs] = useState<ModelConfig[] | null>(null);
  const [historySeq, setHistorySeq] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [staleDraft, setStaleDraft] = useState(false);
  const generation = useRef(0);
  const load = useCallback(async () => {
    const mine = ++generation.current;
    try {
      // The history ETag first: a change between the two reads then makes the save refuse (412),
      // never silently overwrite what this page has not shown.
      const history = await call<HistoryPage>(
        'GET',
        `/usage-types/${seg(usageType)}/history?limit=1`,
      );
      const page = await call<{ items: ModelConfig[] }>(
        'GET',
        `/model-configs?usageType=${seg(usageType)}&limit=1000`,
      );
      if (mine !== generation.current) return;
      setHistorySeq(etagValue(history.etag));
      setConfigs(page.data.items);
      setStaleDraft(false);
      setError(null);
    } catch (failure) {
      if (mine === generation.current) setError(failure);
    }
  }, [usageType]);
  useEffect(() => void load(), [load]);
  useLiveRefresh(usageType, () => {
    if (holdRefresh()) setStaleDraft(true);
    else void load();
  });
  return { configs, historySeq, error, setError, load, staleDraft };
}

/** The body of one chain item (what `PUT /usage-types/:usageType/chain` takes). */
export function chainItem(config: ModelConfig): ConfigFields {
  const { modelId, modelName, provider, parameters, enabled } = config;
  return { modelId, modelName, provider, parameters, enabled };
}

/** `items` with the element at `from` moved to `to`. */
export function moved<T>(items: T[], from: number, to: number): T[] {
  const next = [...items];
  const [item] = next.splice(from, 1);
  next.splice(to, 0, item);
  return next;
}
