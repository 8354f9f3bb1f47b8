import { stringify } from 'yaml';
import { ConfigClient } from '../support/config-as-code';
import { API } from '../support/http';
import { eventually, screenshot, unlabelled } from './browser';
import { KEY, chainRow as row, describeBrowser, useAdminFixture } from './fixture';

jest.setTimeout(90_000);

describeBrowser('admin page in a real browser', () => {
  const fixture = useAdminFixture();
  const open = (hash?: string, key?: string | null, width?: number) =>
    fixture.open(hash, { key, width });
  const chainOrder = async (usageType: string) =>
    (await fixture.api.ofUsageType(usageType)).map((config) => [config.priority, config.modelId]);

  it('serves the page at /admin and shows the usage types of a fresh database', async () => {
    const redirect = await fetch(`${fixture.app.url}/admin`, { redirect: 'manual' });
    expect(redirect.status).toBe(301);
    expect(redirect.headers.get('location')).toBe('/admin/');
    const index = await fetch(`${fixture.app.url}/admin/`);
    expect(index.headers.get('content-type')).toContain('text/html');
    expect(index.headers.get('content-security-policy')).toContain("default-src 'self'");

    const { page, sent } = await open('', null);
    await page.locator('tr[data-usage-type="chat_deep"]').waitFor();
    expect(await page.locator('table.usage-types tbody tr').count()).toBe(9);
    const cells = (usageType: string) =>
      page.locator(`tr[data-usage-type="${usageType}"] td`).allTextContents();
    expect(await cells('chat_deep')).toEqual(['openrouter/auto', '1', '1']);
    expect(await cells('embedding')).toEqual(['nomic-embed-text', '1', '1']);
    expect(await unlabelled(page)).toEqual([]);
    // Nothing fetched from anywhere but the app itself.
    expect(sent.filter((request) => !request.url.startsWith(fixture.app.url))).toEqual([]);
    await screenshot(page, 'usage-types');
  });

  it('reorders a chain with the keyboard and by dragging, saved as one chain replace', async () => {
    const usageType = 'chat_graph';
    await fixture.api.create({
      usageType,
      priority: 2,
      modelId: 'model-b',
      modelName: 'B',
      provider: 'p',
    });
    await fixture.api.create({
      usageType,
      priority: 3,
      modelId: 'model-c',
      modelName: 'C',
      provider: 'p',
    });
    const { page, sent } = await open(`#/u/${usageType}`);
    await row(page, 'model-c').waitFor();

    // Keyboard: Alt+ArrowUp on model-c's handle, announced, focus kept on the moved row.
    await page.getByRole('button', { name: /^Reorder model-c/ }).focus();
    await page.keyboard.press('Alt+ArrowUp');
    const announcer = page.getByTestId('announcer');
    await eventually(async () =>
      expect(await announcer.textContent()).toContain('Moved model-c to position 2 of 3'),
    );
    expect(
      await page.evaluate<string | null>("document.activeElement.getAttribute('aria-label')"),
    ).toMatch(/^Reorder model-c, position 2 of 3/);
    await page.getByRole('button', { name: 'Move openrouter/auto down' }).click();
    await page.getByRole('button', { name: 'Save order' }).click();
    await eventually(async () => expect(await announcer.textContent()).toBe('Order saved.'));
    expect(await chainOrder(usageType)).toEqual([
      [1, 'model-c'],
      [2, 'openrouter/auto'],
      [3, 'model-b'],
    ]);
    await screenshot(page, 'chain');

    // Drag: model-b onto the first row.
    await row(page, 'model-b').locator('.handle').dragTo(row(page, 'model-c'));
    await page.getByRole('button', { name: 'Save order' }).click();
    await eventually(async () => expect(await announcer.textContent()).toBe('Order saved.'));
    expect(await chainOrder(usageType)).toEqual([
      [1, 'model-b'],
      [2, 'model-c'],
      [3, 'openrouter/auto'],
    ]);
    // One atomic replace per save, guarded by the history's newest seq; the key in a header only.
    const puts = sent.filter((request) => request.method === 'PUT');
    expect(puts.map((request) => new URL(request.url).pathname)).toEqual([
      `${API}/usage-types/${usageType}/chain`,
      `${API}/usage-types/${usageType}/chain`,
    ]);
    for (const put of puts) {
      expect(put.headers['if-match']).toMatch(/^"\d+"$/);
      expect(put.headers['x-api-key']).toBe(KEY);
    }
    expect(sent.filter((request) => request.url.includes(KEY))).toEqual([]);
  });

  it('shows "Changed by someone else" with Reload after a change behind its back (412)', async () => {
    const [config] = await fixture.api.ofUsageType('embedding');
    const { page } = await open('#/u/embedding');
    await page.getByRole('button', { name: 'Edit nomic-embed-text' }).click();
    await fixture.api.patch(config.id, { modelName: 'Changed elsewhere' }, `"${config.version}"`);

    await page.getByLabel('Model name').fill('Changed here');
    await page.getByRole('button', { name: 'Save changes' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toContain('Changed by someone else');
    await alert.getByRole('button', { name: 'Reload' }).click();
    await eventually(async () =>
      expect(await row(page, 'nomic-embed-text').textContent()).toContain('Changed elsewhere'),
    );
    expect(await page.getByRole('alert').count()).toBe(0);
    expect((await fixture.api.get(config.id)).modelName).toBe('Changed elsewhere');
  });

  it('restores a version, and a whole chain, from the history view', async () => {
    const [llama] = await fixture.api.ofUsageType('inference');
    await fixture.api.patch(llama.id, { modelName: 'Llama renamed' }, `"${llama.version}"`);
    const { page } = await open('#/u/inference/history');
    const update = page.locator('li.history-item[data-action="update"]').first();
    await update.locator('summary').click();
    const modelName = update.locator('tr[data-field="modelName"]');
    expect(await modelName.getAttribute('class')).toBe('changed');
    expect(await modelName.locator('td').allTextContents()).toEqual([
      'Llama 3.1 8B',
      'Llama renamed',
    ]);
    await screenshot(page, 'history');

    const created = page.locator('li.history-item[data-action="create"]').first();
    await created.getByRole('button', { name: 'Restore this version' }).click();
    await page.getByText('Restored llama3.1:8b to version 1.').waitFor();
    expect(await fixture.api.get(llama.id)).toMatchObject({
      modelName: 'Llama 3.1 8B',
      version: 3,
    });

    // The whole chain, back to before a config was added behind the page's back.
    await fixture.api.create({
      usageType: 'inference',
      priority: 2,
      modelId: 'extra',
      modelName: 'X',
      provider: 'p',
    });
    await page.reload();
    const restoreRow = page.locator('li.history-item', { hasText: 'restore by' }).first();
    await restoreRow.getByRole('button', { name: 'Restore whole chain to this point' }).click();
    await page.getByText(/^Restored the chain as it was at seq \d+\.$/).waitFor();
    expect(await chainOrder('inference')).toEqual([[1, 'llama3.1:8b']]);
  });

  it('imports: the dry run shows the plan and writes nothing; Apply writes it', async () => {
    const configs = new ConfigClient(fixture.app.url);
    const before = await configs.exportText('json');
    const doc = await configs.exportDoc();
    doc.usageTypes.chat_title[0].modelName = 'Imported title';
    doc.usageTypes.imported_type = [{ priority: 1, modelId: 'm1', modelName: 'M1', provider: 'p' }];
    const { page } = await open('#/import');
    await page.getByLabel('Configuration document (JSON or YAML)').fill(stringify(doc));
    await page.getByRole('button', { name: 'Preview changes (dry run)' }).click();
    const summary = page.locator('.plan-summary');
    await summary.waitFor();
    expect(await summary.textContent()).toMatch(
      /^1 to create, 1 to update, 0 to delete, \d+ unchanged\.$/,
    );
    const update = page.locator('.plan-table tr[data-action="update"]');
    expect(await update.textContent()).toContain('modelName: OpenRouter Auto → Imported title');
    expect(await page.locator('.plan-table tr[data-action="create"]').textContent()).toContain(
      'm1',
    );
    await screenshot(page, 'import-plan');
    expect(await configs.exportText('json')).toBe(before);

    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByRole('heading', { name: 'Applied' }).waitFor();
    const after = await configs.exportDoc();
    expect(after.usageTypes.chat_title[0].modelName).toBe('Imported title');
    expect(after.usageTypes.imported_type).toEqual([
      { priority: 1, modelId: 'm1', modelName: 'M1', provider: 'p', enabled: true, parameters: {} },
    ]);
  });

  it('says the key is missing or wrong on 401, and never puts the key in a URL', async () => {
    for (const key of ['wrong-key-000', null]) {
      const { page, sent } = await open('#/u/chat_text', key);
      await page.getByRole('button', { name: 'Disable openrouter/auto' }).click();
      const alert = page.getByRole('alert');
      await alert.waitFor();
      expect(await alert.textContent()).toContain('API key missing or wrong');
      if (key !== null) {
        expect(sent.filter((request) => request.url.includes(key))).toEqual([]);
        expect(page.url()).not.toContain(key);
      }
    }
    expect((await fixture.api.ofUsageType('chat_text'))[0]).toMatchObject({
      enabled: true,
      version: 1,
    });
  });

  it('fits 360 px without horizontal scrolling, every input labelled', async () => {
    const { page } = await open('#/', KEY, 360);
    const views = ['#/', '#/u/chat_graph', '#/u/inference/history', '#/import'];
    for (const hash of views) {
      await page.goto(`${fixture.app.url}/admin/${hash}`);
      await page.locator('h1').waitFor();
      await page.waitForLoadState('networkidle');
      if (hash.endsWith('history')) await page.locator('summary').first().click();
      if (hash === '#/u/chat_graph') {
        await page.getByRole('button', { name: 'Edit model-b' }).click();
      }
      if (hash === '#/import') {
        await page.getByRole('button', { name: 'Start from the current configuration' }).click();
        await eventually(async () =>
          expect(
            await page.getByLabel('Configuration document (JSON or YAML)').inputValue(),
          ).toContain('usageTypes'),
        );
        await page.getByRole('button', { name: 'Preview changes (dry run)' }).click();
        await page.locator('.plan-summary').waitFor();
      }
      if (hash === '#/u/chat_graph') await screenshot(page, 'chain-360px');
      const width = await page.evaluate<number>('document.documentElement.scrollWidth');
      expect({ hash, width: Math.min(width, 360) }).toEqual({ hash, width });
      expect(await unlabelled(page)).toEqual([]);
    }
  });
});
