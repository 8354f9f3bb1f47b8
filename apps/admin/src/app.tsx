import { useEffect, useRef, useState } from 'preact/hooks';
import { KeyForm } from './components/key-form';
import { type LiveStatus, connectLive } from './live';
import { href, type Route, useRoute } from './router';
import { ChainView } from './views/chain';
import { HistoryView } from './views/history';
import { ImportView } from './views/import';
import { UsageTypesView } from './views/usage-types';

const LIVE_TEXT: Record<LiveStatus, string> = {
  connecting: 'Connecting to live updates…',
  live: 'Live: changes from elsewhere appear here',
  reconnecting: 'Live updates interrupted; reconnecting…',
  unavailable: 'Live updates unavailable: reload to see changes made elsewhere',
};

function titleOf(route: Route): string {
  switch (route.view) {
    case 'chain':
      return `${route.usageType} · chain`;
    case 'history':
      return `${route.usageType} · history`;
    case 'import':
      return 'Import';
    default:
      return 'Usage types';
  }
}

function View({ route }: { route: Route }) {
  switch (route.view) {
    case 'chain':
      return <ChainView key={route.usageType} usageType={route.usageType} />;
    case 'history':
      return <HistoryView key={route.usageType} usageType={route.usageType} />;
    case 'import':
      return <ImportView />;
    default:
      return <UsageTypesView />;
  }
}

/** The page: header (navigation, API key, live status) and the view the hash names. */
export function App() {
  const route = useRoute();
  const [live, setLive] = useState<LiveStatus>('connecting');
  const main = useRef<HTMLElement>(null);
  useEffect(() => connectLive(setLive), []);
  useEffect(() => {
    document.title = `${titleOf(route)} · Model configs admin`;
    main.current?.focus();
  }, [route]);
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), main.current?.focus())}>
        Skip to content
      </a>
      <header class="top">
        <div class="brand">Model configs</div>
        <nav aria-label="Main">
          <a href={href({ view: 'usage-types' })} aria-current={route.view !== 'import' && 'page'}>
            Usage types
          </a>
          <a href={href({ view: 'import' })} aria-current={route.view === 'import' && 'page'}>
            Import
          </a>
        </nav>
        <KeyForm />
        <p class={`live live-${live}`} role="status" data-live={live}>
          {LIVE_TEXT[live]}
        </p>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        <View route={route} />
      </main>
    </>
  );
}
