import { useEffect, useRef } from 'preact/hooks';
import { API } from './api';

/** How the page is connected to the change stream (`GET /api/v1/events`). */
export type LiveStatus = 'connecting' | 'live' | 'reconnecting' | 'unavailable';

/** Told which usage types changed; `null` means "anything may have changed: refetch all". */
type Listener = (usageTypes: string[] | null) => void;

const listeners = new Set<Listener>();

/** Tells every view that something changed (the stream, or this page's own writes). */
export function notifyChanged(usageTypes: string[] | null): void {
  for (const listener of [...listeners]) listener(usageTypes);
}

/**
 * Calls `reload` whenever a change touches `usageType` (any usage type when null), so two open
 * pages agree without a reload.
 */
export function useLiveRefresh(usageType: string | null, reload: () => void): void {
  const latest = useRef(reload);
  latest.current = reload;
  useEffect(() => {
    const listener: Listener = (changed) => {
      if (usageType === null || changed === null || changed.includes(usageType)) latest.current();
    };
    listeners.add(listener);
    return () => void listeners.delete(listener);
  }, [usageType]);
}

const RETRY_UNAVAILABLE_MS = 30_000;

function usageTypesOf(data: string): string[] | null {
  try {
    const parsed = JSON.parse(data) as { usageTypes?: unknown };
    return Array.isArray(parsed.usageTypes) ? parsed.usageTypes.map(String) : null;
  } catch {
    return null;
  }
}

/**
 * Listens to the change stream with the browser's EventSource: `change` refetches the usage types
 * it names, `reset` everything. If the stream is refused (no such route yet, or it needs a key,
 * which EventSource cannot send), the page still works and tries again every 30 s.
 */
export function connectLive(onStatus: (status: LiveStatus) => void): () => void {
  if (typeof EventSource === 'undefined') {
    onStatus('unavailable');
    return () => undefined;
  }
  let source: EventSource | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let connections = 0;
  const open = (): void => {
    onStatus('connecting');
    source = new EventSource(`${API}/events`);
    source.addEventListener('ready', () => {
      onStatus('live');
      // A new stream (not a resumed one) may have missed changes: refetch what is shown.
      if (connections++ > 0) notifyChanged(null);
    });
    source.addEventListener('change', (event) => notifyChanged(usageTypesOf(event.data)));
    source.addEventListener('reset', () => notifyChanged(null));
    source.onerror = () => {
      if (source?.readyState !== EventSource.CLOSED) return onStatus('reconnecting');
      onStatus('unavailable');
      timer = setTimeout(open, RETRY_UNAVAILABLE_MS);
    };
  };
  open();
  return () => {
    clearTimeout(timer);
    source?.close();
  };
}
