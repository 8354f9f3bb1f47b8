import type { Page, Route } from 'playwright-core';
import { eventsRouteExists } from './browser';
import { chainRow as row, describeBrowser, useAdminFixture } from './fixture';

jest.setTimeout(90_000);

const USAGE_TYPE = 'chat_semantic';

/**
 * Serves `GET /api/v1/events` to one page from the test: `ready` on the first connection, then
 * whatever frames are queued, each response ending so that EventSource reconnects 200 ms later.
 */
async function simulateStream(page: Page): Promise<{ queue: string[] }> {
  const state = { queue: [] as string[], connections: 0 };
  await page.route('**/api/v1/events', (route: Route) => {
    const ready = state.connections++ === 0 ? 'event: ready\ndata: {"lastEventId":0}\n\n' : '';
    const body = `retry: 200\n\n${ready}${state.queue.splice(0).join('')}`;
    void route.fulfill({ status: 200, contentType: 'text/event-stream', body });
  });
  return state;
}

describeBrowser('admin page: live updates', () => {
  const fixture = useAdminFixture();
  const create = (modelId: string, priority: number) =>
    fixture.api.create({
      usageType: USAGE_TYPE,
      priority,
      modelId,
      modelName: modelId,
      provider: 'p',
    });

  it('follows the change stream: two open pages agree without a reload', async () => {
    const first = (await fixture.open(`#/u/${USAGE_TYPE}`)).page;
    const second = (await fixture.open(`#/u/${USAGE_TYPE}`, { key: null })).page;
    await row(second, 'openrouter/auto').waitFor();
    expect(await eventsRouteExists(fixture.app.url)).toBe(true);
    await second.locator('[data-live="live"]').waitFor();
    await first.getByRole('button', { name: 'Disable openrouter/auto' }).click();
    await second.getByRole('button', { name: 'Enable openrouter/auto' }).waitFor();
    const third = (await fixture.open('#/', { key: null })).page;
    await third.locator('[data-live="live"]').waitFor();
    await create('late', 2);
    await row(second, 'late').waitFor();
    await third.locator(`tr[data-usage-type="${USAGE_TYPE}"] td`, { hasText: 'late' }).waitFor();
  });

  it('refetches what a change event names, and everything on reset', async () => {
    let stream: { queue: string[] } | undefined;
    const { page } = await fixture.open(`#/u/${USAGE_TYPE}`, {
      key: null,
      before: async (p) => void (stream = await simulateStream(p)),
    });
    await row(page, 'openrouter/auto').waitFor();
    await create('from-change', 3);
    const data = { id: 1, operation: 'create', usageTypes: [USAGE_TYPE], changes: [] };
    stream?.queue.push(`id: 1\nevent: change\ndata: ${JSON.stringify(data)}\n\n`);
    await row(page, 'from-change').waitFor();
    await create('from-reset', 4);
    stream?.queue.push('id: 2\nevent: reset\ndata: {"reason":"pruned","lastEventId":2}\n\n');
    await row(page, 'from-reset').waitFor();
  });

  it('without a change stream, says live updates are unavailable and keeps working', async () => {
    const { page } = await fixture.open('#/u/chat_deep', {
      before: async (p) => {
        await p.route('**/api/v1/events', (route) =>
          route.fulfill({ status: 404, contentType: 'application/json', body: '{}' }),
        );
      },
    });
    await page.locator('[data-live="unavailable"]').waitFor();
    expect(await page.locator('[data-live]').textContent()).toContain('Live updates unavailable');
    await page.getByRole('button', { name: 'Disable openrouter/auto' }).click();
    await page.getByRole('button', { name: 'Enable openrouter/auto' }).waitFor();
  });

  it('an unsaved order goes stale on a change elsewhere; saving it is refused (412)', async () => {
    const usageType = 'chat_title';
    await fixture.api.create({
      usageType,
      priority: 2,
      modelId: 'second',
      modelName: 'S',
      provider: 'p',
    });
    const { page } = await fixture.open(`#/u/${usageType}`);
    await page.locator('[data-live="live"]').waitFor();
    await page.getByRole('button', { name: 'Move second up' }).click();
    const [auto] = await fixture.api.ofUsageType(usageType);
    await fixture.api.patch(auto.id, { modelName: 'Renamed elsewhere' }, `"${auto.version}"`);
    await page.getByText('This chain changed elsewhere while you were reordering.').waitFor();

    await page.getByRole('button', { name: 'Save order' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toContain('Changed by someone else');
    expect((await fixture.api.ofUsageType(usageType)).map((c) => c.modelId)).toEqual([
      'openrouter/auto',
      'second',
    ]);
  });
});
