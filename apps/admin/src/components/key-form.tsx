import { useState } from 'preact/hooks';
import { getApiKey, setApiKey } from '../api';

/** The API key for writes: typed once, kept in this tab's sessionStorage, sent as X-API-Key. */
export function KeyForm() {
  const [saved, setSaved] = useState(getApiKey() !== '');
  const [draft, setDraft] = useState('');
  if (saved) {
    return (
      <div class="key-form">
        <span>API key set for this tab.</span>
        <button
          type="button"
          onClick={() => {
            setApiKey('');
            setSaved(false);
          }}
        >
          Forget key
        </button>
      </div>
    );
  }
  return (
    <form
      class="key-form"
      onSubmit={(event) => {
        event.preventDefault();
        setApiKey(draft.trim());
        setDraft('');
        setSaved(draft.trim() !== '');
      }}
    >
      <label for="api-key">API key</label>
      <input
        id="api-key"
        type="password"
        autocomplete="off"
        value={draft}
        onInput={(event) => setDraft(event.currentTarget.value)}
      />
      <button type="submit">Use key</button>
    </form>
  );
}
