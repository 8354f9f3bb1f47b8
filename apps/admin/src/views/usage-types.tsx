import { useCallback, useEffect, useState } from 'preact/hooks';
import { call } from '../api';
import { ErrorBanner } from '../components/error-banner';
import { useLiveRefresh } from '../live';
import { href } from '../router';
import type { UsageTypeSummary } from '../types';

const USAGE_TYPE = /^[a-z0-9][a-z0-9_.-]{0,63}$/;

/** Opens a usage type's chain by name, existing or new (its first config is added there). */
function OpenUsageType() {
  const [name, setName] = useState('');
  const [problem, setProblem] = useState('');
  return (
    <form
      class="inline-form"
      onSubmit={(event) => {
        event.preventDefault();
        if (!USAGE_TYPE.test(name)) {
          setProblem('Use 1–64 characters: a–z, 0–9, then also _ . -');
          return;
        }
        location.hash = href({ view: 'chain', usageType: name });
      }}
    >
      <label for="open-usage-type">Open or create a usage type</label>
      <input
        id="open-usage-type"
        value={name}
        aria-invalid={problem !== ''}
        aria-describedby={problem ? 'open-usage-type-problem' : undefined}
        onInput={(event) => {
          setName(event.currentTarget.value.trim());
          setProblem('');
        }}
      />
      <button type="submit">Open</button>
      {problem && (
        <p id="open-usage-type-problem" class="field-error">
          {problem}
        </p>
      )}
    </form>
  );
}

/** Every usage type with its active model and the length of its chain. */
export function UsageTypesView() {
  const [rows, setRows] = useState<UsageTypeSummary[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(() => {
    call<UsageTypeSummary[]>('GET', '/usage-types').then(
      ({ data }) => {
        setRows(data);
        setError(null);
      },
      (failure: unknown) => setError(failure),
    );
  }, []);
  useEffect(load, [load]);
  useLiveRefresh(null, load);
  return (
    <section aria-labelledby="usage-types-heading">
      <h1 id="usage-types-heading">Usage types</h1>
      <p class="muted">
        Each usage type is served by its active model (the first enabled config); the rest of its
        chain stands behind it as fallbacks.
      </p>
      {error !== null && <ErrorBanner error={error} onReload={load} />}
      {rows === null && error === null && <p aria-busy="true">Loading…</p>}
      {rows !== null && (
        <div class="table-wrap">
          <table class="usage-types">
            <caption class="sr-only">Usage types</caption>
            <thead>
              <tr>
                <th scope="col">Usage type</th>
                <th scope="col">Active model</th>
                <th scope="col">Chain length</th>
                <th scope="col">Enabled</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <tr key={row.usageType} data-usage-type={row.usageType}>
                  <th scope="row">
                    <a href={href({ view: 'chain', usageType: row.usageType })}>{row.usageType}</a>
                  </th>
                  <td class="wrap">{row.activeModelId ?? <em>none enabled</em>}</td>
                  <td>{row.total}</td>
                  <td>{row.enabled}</td>
                </tr>
              ))}
              {rows.length === 0 && (
                <tr>
                  <td colSpan={4}>No configs yet.</td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      )}
      <OpenUsageType />
    </section>
  );
}
