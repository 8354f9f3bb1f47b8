import type { ImportPlan, PlanChange } from '../types';
import { show } from './diff';

function Fields({ change }: { change: PlanChange }) {
  const entries = Object.entries(change.fields ?? {});
  if (entries.length === 0) return null;
  return (
    <ul class="plan-fields">
      {entries.map(([field, { from, to }]) => (
        <li key={field}>
          <code>{field}</code>: <del class="wrap">{show(from)}</del> →{' '}
          <ins class="wrap">{show(to)}</ins>
        </li>
      ))}
    </ul>
  );
}

/** An import plan: the summary, then every slot that would change (unchanged ones counted). */
export function Plan({ plan }: { plan: ImportPlan }) {
  const { summary } = plan;
  const changes = plan.changes.filter((change) => change.action !== 'unchanged');
  return (
    <section class="plan" aria-labelledby="plan-heading" data-dry-run={plan.dryRun}>
      <h2 id="plan-heading">{plan.applied ? 'Applied' : 'Plan (dry run: nothing written yet)'}</h2>
      <p class="plan-summary">
        {summary.create} to create, {summary.update} to update, {summary.delete} to delete,{' '}
        {summary.unchanged} unchanged.
      </p>
      {changes.length === 0 ? (
        <p>Nothing to change.</p>
      ) : (
        <div class="table-wrap">
          <table class="plan-table">
            <thead>
              <tr>
                <th scope="col">Action</th>
                <th scope="col">Usage type</th>
                <th scope="col">Priority</th>
                <th scope="col">Model</th>
              </tr>
            </thead>
            <tbody>
              {changes.map((change) => (
                <tr key={`${change.usageType}/${change.priority}`} data-action={change.action}>
                  <td>
                    <span class={`badge action-${change.action}`}>{change.action}</span>
                  </td>
                  <td class="wrap">{change.usageType}</td>
                  <td>{change.priority}</td>
                  <td class="wrap">
                    {change.modelId}
                    <Fields change={change} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
