import { ConfigClient, expectImport400, yamlItem } from './support/config-as-code';
import { type RawResponse, expectErrorBody } from './support/http';
import { type TestApp, startTestApp } from './support/test-app';

const KEY = 'config-as-code-key';
const MiB = 1024 * 1024;

/** Billion laughs: nine levels of nine aliases each (9^9 strings once expanded). */
function billionLaughs(): string {
  let text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
  let previous = 'a';
  for (const name of 'bcdefghi') {
    text += `${name}: &${name} [${Array(9).fill(`*${previous}`).join(',')}]\n`;
    previous = name;
  }
  return text;
}

describe('configuration as code: hostile YAML', () => {
  let app: TestApp;
  let config: ConfigClient;
  let before: string;

  beforeAll(async () => {
    app = await startTestApp({ API_KEY: KEY });
    config = new ConfigClient(app.url, { 'X-API-Key': KEY });
    before = await config.exportText();
  });

  afterAll(async () => {
    // Nothing any test here sent was stored.
    if (config) expect(await config.exportText()).toBe(before);
    await app?.close();
  });

  const expect400 = (body: string | Buffer, contentType: string, ...expected: string[]) =>
    expectImport400(config, body, contentType, ...expected);

  describe('hostile YAML', () => {
    it.each<[string, string, string]>([
      ['billion laughs', billionLaughs(), 'aliases'],
      ['an unknown field', yamlItem({ colour: 'red' }), 'usageTypes.ut[0].colour is not allowed'],
      [
        'a merge key (not supported: an unknown field)',
        `base: &b {modelId: m}\n${yamlItem({ '<<': '*b' })}`,
        'base is not allowed',
      ],
      ['a wrong type', yamlItem({ enabled: 'nope' }), 'usageTypes.ut[0].enabled must be a boolean'],
      [
        'YAML 1.1 booleans (read as strings)',
        `%YAML 1.1\n---\n${yamlItem({ enabled: 'yes' })}`,
        'enabled must be a boolean',
      ],
      [
        'a !!js/function tag',
        yamlItem({ parameters: '!!js/function "function () { return 1 }"' }),
        'Unresolved tag',
      ],
      [
        'a !!python/object tag',
        yamlItem({ parameters: '!!python/object/apply:os.system ["id"]' }),
        'Unresolved tag',
      ],
      ['a custom tag', yamlItem({ modelName: '!secret M' }), 'Unresolved tag'],
      ['a !!binary tag', yamlItem({ modelName: '!!binary aGVsbG8=' }), 'Unresolved tag'],
      ['duplicate keys', yamlItem({}, '      modelId: again\n'), 'Map keys must be unique'],
      ['several documents', `${yamlItem()}---\n${yamlItem()}`, 'several YAML documents'],
      ['a syntax error', 'usageTypes: [1, 2\n', 'line'],
      ['tabs as indentation', 'usageTypes:\n\tx: []\n', 'line 2'],
      ['a collection as a key', '? [a, b]\n: 1\n', 'keys must be strings'],
      [
        'an infinite number',
        yamlItem({ parameters: '{t: .inf}' }),
        'usageTypes.ut[0].parameters.t must be a finite number',
      ],
      ['NaN', yamlItem({ parameters: '{t: .nan}' }), 'must be a finite number'],
      [
        '__proto__ in parameters',
        yamlItem({ parameters: '{__proto__: {polluted: 1}}' }),
        'usageTypes.ut[0].parameters uses the forbidden key __proto__',
      ],
      [
        'a lone surrogate',
        yamlItem({ modelName: '"\\ud800"' }),
        'usageTypes.ut[0].modelName contains an unpaired surrogate',
      ],
      [
        'a cycle through an alias',
        yamlItem({ parameters: '&p {self: *p}' }),
        'nests deeper than 64 levels',
      ],
      [
        'nesting past 64 levels',
        yamlItem({ parameters: `{a: ${'['.repeat(70)}${']'.repeat(70)}}` }),
        'nests deeper than 64 levels',
      ],
      ['a root that is a list', '- 1\n- 2\n', 'document must be an object'],
      ['a root that is a string', 'just text\n', 'document must be an object'],
    ])('answers 400 to %s', async (_label, yaml, expected) => {
      await expect400(yaml, 'application/yaml', expected);
    });

    it.each<[string, string]>([
      ['flow sequences', `a: ${'['.repeat(500_000)}${']'.repeat(500_000)}\n`],
      // This one ran the process out of memory inside the YAML parser before the nesting checks.
      ['flow maps', `a: ${'{a: '.repeat(200_000)}1${'}'.repeat(200_000)}\n`],
      ['compact block sequences', `a:\n  ${'- '.repeat(500_000)}1\n`],
      [
        'indented block maps',
        Array.from({ length: 1_400 }, (_, i) => `${' '.repeat(i)}a:`).join('\n'),
      ],
      ['malformed values (block)', ': '.repeat(500_000)],
      ['malformed values (flow)', `[\n${'a: '.repeat(330_000)}`],
      ['malformed explicit keys', `*x${'-? a: k: v\n'.repeat(90_000)}`],
    ])(
      'answers 400 to %s nested up to a MiB deep, within 5 s, and keeps serving',
      async (_label, yaml) => {
        const started = performance.now();
        await expect400(yaml, 'application/yaml', 'nests deeper than 64 levels');
        expect(performance.now() - started).toBeLessThan(5_000);
        expect(await config.exportText()).toBe(before);
      },
    );

    it('reads a document 64 levels deep (then the parameters rule applies) and refuses 65', async () => {
      // The document, usageTypes, the list and the item are 4 levels; parameters hold the rest.
      const nested = (levels: number) => {
        let value = '1';
        for (let i = 5; i < levels; i++) value = `{k: ${value}}`;
        return yamlItem({ parameters: `{n: ${value}}` });
      };
      await expect400(nested(65), 'application/yaml', 'nests deeper than 64 levels');
      await expect400(
        nested(64),
        'application/yaml',
        'usageTypes.ut[0].parameters must be a JSON object of at most 16384 bytes and 32 levels',
      );
      const ok = await config.importRaw(nested(4 + 32), 'application/yaml', 'dryRun=true');
      expect(JSON.parse(ok.text)).toMatchObject({ dryRun: true, summary: { create: 1 } });
    });

    it.each<[string, number, number, string]>([
      ['more than 100 aliases of one node', 2_000, 1_000, 'aliases'],
      ['aliases of a large node (over a million values)', 25_000, 50, 'more than 1000000 values'],
    ])('answers 400 to %s', async (_label, size, aliases, expected) => {
      const big = `big: &big [${Array(size).fill('0').join(',')}]\n`;
      const many = `many: [${Array(aliases).fill('*big').join(',')}]\n`;
      await expect400(big + many, 'application/yaml', expected);
    });

    it('answers 400 to a body that is not UTF-8', async () => {
      const body = Buffer.concat([
        Buffer.from('usageTypes: {x: ['),
        Buffer.from([0xff, 0xfe]),
        Buffer.from(']}\n'),
      ]);
      await expect400(body, 'application/yaml', 'not valid UTF-8');
    });

    it.each<[string, Record<string, string>]>([
      ['with Content-Length', {}],
      ['chunked', { 'transfer-encoding': 'chunked' }],
    ])('answers 413 PAYLOAD_TOO_LARGE to a document over 1 MiB (%s)', async (_label, headers) => {
      const padding = `# ${'x'.repeat(1000)}\n`.repeat(Math.ceil((MiB + 1) / 1003));
      const res: RawResponse = await config.importRaw(
        `${padding}usageTypes: {}\n`,
        'application/yaml',
        'prune=true',
        {
          'X-API-Key': KEY,
          ...headers,
        },
      );
      expectErrorBody(413, 'PAYLOAD_TOO_LARGE', res);
    });
  });
});
