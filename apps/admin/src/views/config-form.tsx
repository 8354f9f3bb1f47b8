import { useEffect, useRef, useState } from 'preact/hooks';
import type { ConfigFields } from '../types';

interface Props {
  /** A prefix that keeps the inputs' ids unique on the page. */
  id: string;
  legend: string;
  initial?: ConfigFields;
  submitLabel: string;
  busy: boolean;
  onSubmit: (fields: ConfigFields) => void;
  onCancel: () => void;
}

const EMPTY: ConfigFields = {
  modelId: '',
  modelName: '',
  provider: '',
  parameters: {},
  enabled: true,
};

type TextFieldName = 'modelId' | 'modelName' | 'provider';
const TEXT_FIELDS: [TextFieldName, string][] = [
  ['modelId', 'Model id'],
  ['modelName', 'Model name'],
  ['provider', 'Provider'],
];

/** `parameters` as typed: a JSON object, or a message saying what is wrong. */
function parseParameters(text: string): Record<string, unknown> | string {
  if (text.trim() === '') return {};
  try {
    const value: unknown = JSON.parse(text);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      return value as Record<string, unknown>;
    }
  } catch {
    // Reported below.
  }
  return 'Parameters must be a JSON object, such as {"temperature": 0.2}.';
}

function TextField(props: {
  id: string;
  label: string;
  value: string;
  onInput: (value: string) => void;
}) {
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      <input
        id={props.id}
        required
        maxLength={256}
        value={props.value}
        onInput={(event) => props.onInput(event.currentTarget.value)}
      />
    </div>
  );
}

function ParametersField(props: {
  id: string;
  value: string;
  problem: string;
  onInput: (value: string) => void;
}) {
  const { id, problem } = props;
  return (
    <div class="field">
      <label for={id}>Parameters (JSON object, optional)</label>
      <textarea
        id={id}
        rows={3}
        value={props.value}
        aria-invalid={problem !== ''}
        aria-describedby={problem ? `${id}-problem` : undefined}
        onInput={(event) => props.onInput(event.currentTarget.value)}
      />
      {problem && (
        <p id={`${id}-problem`} class="field-error">
          {problem}
        </p>
      )}
    </div>
  );
}

/** The fields of one config, to add or to edit. */
export function ConfigForm({ id, legend, initial = EMPTY, submitLabel, busy, ...on }: Props) {
  const [fields, setFields] = useState(initial);
  const [parameters, setParameters] = useState(
    Object.keys(initial.parameters).length === 0 ? '' : JSON.stringify(initial.parameters, null, 2),
  );
  const [problem, setProblem] = useState('');
  const form = useRef<HTMLFormElement>(null);
  // Opened from a row's button or "Add a config": the keyboard lands in the form.
  useEffect(() => form.current?.querySelector('input')?.focus(), []);
  const set = (name: TextFieldName) => (value: string) => setFields({ ...fields, [name]: value });
  return (
    <form
      ref={form}
      class="config-form"
      onSubmit={(event) => {
        event.preventDefault();
        const parsed = parseParameters(parameters);
        setProblem(typeof parsed === 'string' ? parsed : '');
        if (typeof parsed !== 'string') on.onSubmit({ ...fields, parameters: parsed });
      }}
    >
      <fieldset>
        <legend>{legend}</legend>
        {TEXT_FIELDS.map(([name, label]) => (
          <TextField
            key={name}
            id={`${id}-${name}`}
            label={label}
            value={fields[name]}
            onInput={set(name)}
          />
        ))}
        <ParametersField
          id={`${id}-parameters`}
          value={parameters}
          problem={problem}
          onInput={setParameters}
        />
        <div class="field check">
          <input
            id={`${id}-enabled`}
            type="checkbox"
            checked={fields.enabled}
            onChange={(event) => setFields({ ...fields, enabled: event.currentTarget.checked })}
          />
          <label for={`${id}-enabled`}>Enabled</label>
        </div>
        <div class="actions">
          <button type="submit" class="primary" disabled={busy}>
            {submitLabel}
          </button>
          <button type="button" onClick={on.onCancel}>
            Cancel
          </button>
        </div>
      </fieldset>
    </form>
  );
}
