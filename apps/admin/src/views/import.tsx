import { useState } from 'preact/hooks';
import { ErrorBanner } from '../components/error-banner';
import { useRunner } from '../hooks';
import { notifyChanged } from '../live';
import type { ImportPlan } from '../types';
import { exportYaml, importDocument } from './import-data';
import { Plan } from './plan';

interface Planned {
  plan: ImportPlan;
  /** The document and prune flag the plan was made for: Apply sends exactly these. */
  text: string;
  prune: boolean;
}

interface FormProps {
  text: string;
  prune: boolean;
  busy: boolean;
  onText: (text: string) => void;
  onPrune: (prune: boolean) => void;
  onPreview: () => void;
}

function ImportForm({ text, prune, busy, onText, onPrune, onPreview }: FormProps) {
  return (
    <>
      <div class="field">
        <label for="import-document">Configuration document (JSON or YAML)</label>
        <textarea
          id="import-document"
          rows={12}
          spellcheck={false}
          value={text}
          onInput={(event) => onText(event.currentTarget.value)}
        />
      </div>
      <div class="field">
        <label for="import-file">Or read a file</label>
        <input
          id="import-file"
          type="file"
          accept=".json,.yaml,.yml,application/json,application/yaml,text/yaml"
          onChange={(event) => {
            const file = event.currentTarget.files?.[0];
            if (file) void file.text().then(onText);
          }}
        />
      </div>
      <div class="field check">
        <input
          id="import-prune"
          type="checkbox"
          checked={prune}
          onChange={(event) => onPrune(event.currentTarget.checked)}
        />
        <label for="import-prune">Prune: delete configs the document does not list</label>
      </div>
      <div class="actions">
        <button
          type="button"
          class="primary"
          disabled={busy || text.trim() === ''}
          onClick={onPreview}
        >
          Preview changes (dry run)
        </button>
      </div>
    </>
  );
}

/** Import a document: first the dry-run plan, then Apply sends the same document for real. */
export function ImportView() {
  const [text, setText] = useState('');
  const [prune, setPrune] = useState(false);
  const [planned, setPlanned] = useState<Planned | null>(null);
  const [error, setError] = useState<unknown>(null);
  const { busy, run } = useRunner(setError);
  const preview = () =>
    run(async () => setPlanned({ plan: await importDocument(text, true, prune), text, prune }));
  const apply = (p: Planned) =>
    run(async () => {
      setPlanned({ ...p, plan: await importDocument(p.text, false, p.prune) });
      notifyChanged(null);
    });
  const current = planned !== null && planned.text === text && planned.prune === prune;
  return (
    <section aria-labelledby="import-heading">
      <h1 id="import-heading">Import</h1>
      <p class="muted">
        Paste or load a document like the one <code>GET /api/v1/config/export</code> gives. You see
        the plan first; nothing is written until you apply it.
      </p>
      <div class="actions">
        <button
          type="button"
          disabled={busy}
          onClick={() => void run(async () => setText(await exportYaml()))}
        >
          Start from the current configuration
        </button>
      </div>
      <ImportForm
        {...{ text, prune, busy }}
        onText={setText}
        onPrune={setPrune}
        onPreview={() => void preview()}
      />
      {error !== null && <ErrorBanner error={error} onDismiss={() => setError(null)} />}
      {planned !== null && <Plan plan={planned.plan} />}
      {planned !== null && !planned.plan.applied && (
        <div class="actions">
          <button
            type="button"
            class="primary"
            disabled={busy || !current}
            onClick={() => void apply(planned)}
          >
            Apply
          </button>
          {!current && <span class="muted">The document changed: preview it again first.</span>}
        </div>
      )}
    </section>
  );
}
