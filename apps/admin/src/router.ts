import { useEffect, useState } from 'preact/hooks';

/** The views, addressed by the URL's hash (so the server only ever serves index.html). */
export type Route =
  | { view: 'usage-types' }
  | { view: 'chain'; usageType: string }
  | { view: 'history'; usageType: string }
  | { view: 'import' };

/** Parses `#/`, `#/u/<usageType>`, `#/u/<usageType>/history`, `#/import`. */
export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'import') return { view: 'import' };
  if (parts[0] === 'u' && parts[1]) {
    return parts[2] === 'history'
      ? { view: 'history', usageType: parts[1] }
      : { view: 'chain', usageType: parts[1] };
  }
  return { view: 'usage-types' };
}

/** The hash of a route. */
export function href(route: Route): string {
  switch (route.view) {
    case 'chain':
      return `#/u/${encodeURIComponent(route.usageType)}`;
    case 'history':
      return `#/u/${encodeURIComponent(route.usageType)}/history`;
    case 'import':
      return '#/import';
    default:
      return '#/';
  }
}

/** The current route, following `hashchange`. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const update = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return route;
}
