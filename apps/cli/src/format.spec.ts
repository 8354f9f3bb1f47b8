import { colorWanted, formatHistory, formatPlan, type ImportPlan, palette, table } from './format';

const plain = palette(false);

describe('formatPlan', () => {
  const plan: ImportPlan = {
    dryRun: true,
    applied: false,
    summary: { create: 1, update: 1, delete: 1, unchanged: 2 },
    changes: [
      { action: 'unchanged', usageType: 'chat_deep', priority: 1, modelId: 'a' },
      { action: 'create', usageType: 'chat_deep', priority: 2, modelId: 'b' },
      {
        action: 'update',
        usageType: 'embedding',
        priority: 1,
        modelId: 'c',
        fields: { enabled: { from: true, to: false }, parameters: { from: {}, to: { k: 1 } } },
      },
      { action: 'delete', usageType: 'inference', priority: 3, modelId: 'd' },
      { action: 'unchanged', usageType: 'inference', priority: 1, modelId: 'e' },
    ],
  };

  it('prints creates, updates with their fields, deletes, and counts the unchanged', () => {
    expect(formatPlan(plan, plain)).toBe(
      [
        '+ create     chat_deep #2  b',
        '~ update     embedding #1  c',
        '      enabled: true → false',
        '      parameters: {} → {"k":1}',
        '- delete     inference #3  d',
        '  (2 unchanged)',
        'Dry run: 1 to create, 1 to update, 1 to delete, 2 unchanged; nothing written.',
        '',
      ].join('\n'),
    );
  });

  it('lists the unchanged with verbose, and summarises an applied plan', () => {
    const text = formatPlan({ ...plan, dryRun: false, applied: true }, plain, true);
    expect(text).toContain('  unchanged  chat_deep #1  a\n');
    expect(text).not.toContain('(2 unchanged)');
    expect(text).toMatch(/Applied: 1 created, 1 updated, 1 deleted, 2 unchanged\.\n$/);
  });

  it('colours with ANSI codes only when asked', () => {
    const coloured = formatPlan(plan, palette(true));
    expect(coloured).toContain('\u001b[32m+ create     chat_deep #2  b\u001b[39m');
    expect(coloured).toContain('\u001b[31m- delete');
    expect(formatPlan(plan, plain)).not.toContain('\u001b[');
  });
});

describe('table and history', () => {
  it('pads columns to the widest visible cell, numbers to the right', () => {
    const columns = [{ title: 'n', right: true }, { title: 'name' }, { title: 'x' }];
    const colors = palette(true);
    const text = table(
      columns,
      [
        ['10', colors.red('ab'), 'z'],
        ['7', 'abcd', 'y'],
      ],
      plain,
    );
    expect(text).toBe(' n  name  x\n10  \u001b[31mab\u001b[39m    z\n 7  abcd  y\n');
  });

  it('shows a model change as before → after', () => {
    const entry = {
      seq: 3,
      configId: 'id',
      usageType: 'u',
      priority: 1,
      version: 2,
      operation: 'update',
      action: 'update' as const,
      before: { modelId: 'a' },
      after: { modelId: 'b' },
      actor: null,
      changedAt: '2026-01-01T00:00:00.000Z',
    };
    const lines = formatHistory([entry], plain).split('\n');
    expect(lines[0]).toBe(
      'seq  time                      actor  operation  action  priority  modelId  version',
    );
    expect(lines[1]).toBe(
      '  3  2026-01-01T00:00:00.000Z  -      update     update         1  a → b          2',
    );
  });
});

describe('colorWanted', () => {
  it('follows the flag, else a TTY without NO_COLOR', () => {
    expect(colorWanted(true, {}, false)).toBe(true);
    expect(colorWanted(false, {}, true)).toBe(false);
    expect(colorWanted(undefined, {}, true)).toBe(true);
    expect(colorWanted(undefined, { NO_COLOR: '1' }, true)).toBe(false);
    expect(colorWanted(undefined, {}, false)).toBe(false);
  });
});
