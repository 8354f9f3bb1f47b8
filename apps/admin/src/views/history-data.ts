import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { call, etagValue, seg } from '../api';
import { useLiveRefresh } from '../live';
import type { HistoryItem, HistoryPage, ModelConfig } from '../types';

const PAGE = 25;

/** A usage type's history, newest first, page by page, refetched when it changes elsewhere. */
export function useHistory(usageType: string) {
  const [items, setItems] = useState<HistoryItem[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [seq, setSeq] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const generation = useRef(0);
  const base = `/usage-types/${seg(usageType)}/history?limit=${PAGE}`;
  const load = useCallback(async () => {
    const mine = ++generation.current;
    try {
      const page = await call<HistoryPage>('GET', base);
      if (mine !== generation.current) return;
      setItems(page.data.items);
      setCursor(page.data.nextCursor);
      setSeq(etagValue(page.etag));
      setError(null);
    } catch (failure) {
      if (mine === generation.current) setError(failure);
    }
  }, [base]);
  const more = async () => {
    if (cursor === null) return;
    try {
      const page = await call<HistoryPage>('GET', `${base}&cursor=${encodeURIComponent(cursor)}`);
      setItems((current) => [...(current ?? []), ...page.data.items]);
      setCursor(page.data.nextCursor);
    } catch (failure) {
      setError(failure);
    }
  };
  useEffect(() => void load(), [load]);
  useLiveRefresh(usageType, () => void load());
  return { items, cursor, seq, error, setError, load, more };
}

/**
 * The version of a config this page last saw: its newest row in the loaded history (newest
 * first), or null when that row is its delete (a deleted config is restored without If-Match).
 */
export function currentVersion(items: HistoryItem[], configId: string): number | null {
  const newest = items.find((item) => item.configId === configId);
  return newest === undefined || newest.action === 'delete' ? null : newest.version;
}

/** Restores one config to `row.version`'s content, guarded by the version last seen. */
export function restoreConfig(items: HistoryItem[], row: HistoryItem) {
  return call<ModelConfig>('POST', `/model-configs/${seg(row.configId)}/restore/${row.version}`, {
    ifMatch: currentVersion(items, row.configId),
  });
}

/** Restores the whole chain as it was right after `row`, guarded by the history's newest seq. */
export function restoreChain(usageType: string, seq: string | null, row: HistoryItem) {
  const at = encodeURIComponent(row.changedAt);
  return call('POST', `/usage-types/${seg(usageType)}/restore?at=${at}`, { ifMatch: seq });
}
