import type { ModelConfig } from '../types';

const FIELDS: (keyof ModelConfig)[] = [
  'usageType',
  'priority',
  'modelId',
  'modelName',
  'provider',
  'enabled',
  'parameters',
  'version',
];

/** A field's value as text: JSON for objects, nothing for an absent side. */
export function show(value: unknown): string {
  if (value === undefined) return '—';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Before and after of one change, field by field; changed fields are marked in words too. */
export function Diff({ before, after }: { before: ModelConfig | null; after: ModelConfig | null }) {
  return (
    <div class="table-wrap">
      <table class="diff">
        <thead>
          <tr>
            <th scope="col">Field</th>
            <th scope="col">Before</th>
            <th scope="col">After</th>
          </tr>
        </thead>
        <tbody>
          {FIELDS.map((field) => {
            const from = show(before?.[field]);
            const to = show(after?.[field]);
            const changed = from !== to;
            return (
              <tr key={field} class={changed ? 'changed' : undefined} data-field={field}>
                <th scope="row">
                  {field}
                  {changed && <span class="sr-only"> (changed)</span>}
                </th>
                <td class="wrap before">{from}</td>
                <td class="wrap after">{to}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
