import { stringify } from 'yaml';
import { ConfigClient, expectImport400, item } from './support/config-as-code';
import { type TestApp, startTestApp } from './support/test-app';

const KEY = 'config-as-code-key';
const SLUG_RULE = 'must match ^[a-z0-9][a-z0-9_.-]*$';

describe('configuration as code: documents that fail validation', () => {
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

  const json = (doc: unknown) => JSON.stringify(doc);

  describe('validation names the path of each bad field (JSON and YAML alike)', () => {
    it('names a bad field, an unknown field and a duplicate priority by their paths', async () => {
      const doc = {
        usageTypes: {
          chat_deep: [
            item(1),
            item(2, { colour: 'red' } as object),
            item(3, { provider: 'Bad Provider' }),
            item(1, { modelId: 'again' }),
          ],
        },
      };
      const expected = [
        'usageTypes.chat_deep[1].colour is not allowed',
        `usageTypes.chat_deep[2].provider ${SLUG_RULE}`,
        'usageTypes.chat_deep[3].priority 1 is already used by usageTypes.chat_deep[0]',
      ];
      const messages = await expect400(json(doc), 'application/json', ...expected);
      expect(messages).toEqual(expected);
      expect(await expect400(stringify(doc), 'application/yaml')).toEqual(expected);
    });

    it.each<[string, unknown, string]>([
      ['an array root', [], 'document must be an object with a usageTypes field'],
      ['a string root', 'usageTypes', 'document must be an object with a usageTypes field'],
      ['a null root', null, 'document must be an object with a usageTypes field'],
      ['no usageTypes', {}, 'usageTypes is required'],
      ['an unknown root field', { usageTypes: {}, colour: 1 }, 'colour is not allowed'],
      ['usageTypes as an array', { usageTypes: [] }, 'usageTypes must be an object'],
      ['a list that is not an array', { usageTypes: { x: {} } }, 'usageTypes.x must be an array'],
      [
        'an item that is not an object',
        { usageTypes: { x: ['m'] } },
        'usageTypes.x[0] must be an object',
      ],
      [
        'a bad usage type',
        { usageTypes: { 'Chat Deep': [] } },
        `usageTypes["Chat Deep"] ${SLUG_RULE}`,
      ],
      [
        'a long usage type',
        { usageTypes: { ['a'.repeat(65)]: [] } },
        'must be shorter than or equal to 64',
      ],
      [
        'priority as a string',
        { usageTypes: { x: [item(1, { priority: '1' as never })] } },
        'usageTypes.x[0].priority must',
      ],
      [
        'priority 0',
        { usageTypes: { x: [item(0)] } },
        'usageTypes.x[0].priority must not be less than 1',
      ],
      [
        'priority 1001',
        { usageTypes: { x: [item(1001)] } },
        'usageTypes.x[0].priority must not be greater than 1000',
      ],
      [
        'a missing modelId',
        { usageTypes: { x: [{ priority: 1, modelName: 'M', provider: 'p' }] } },
        'usageTypes.x[0].modelId',
      ],
      [
        'enabled as a string',
        { usageTypes: { x: [item(1, { enabled: 'yes' as never })] } },
        'usageTypes.x[0].enabled must be a boolean',
      ],
      [
        'parameters as an array',
        { usageTypes: { x: [item(1, { parameters: [] as never })] } },
        'usageTypes.x[0].parameters must be a JSON object',
      ],
      [
        'a usageType field in an item',
        { usageTypes: { x: [{ ...item(1), usageType: 'x' }] } },
        'usageTypes.x[0].usageType is not allowed',
      ],
      [
        'a prototype-named field in an item',
        { usageTypes: { x: [{ ...item(1), constructor: 'x' }] } },
        'usageTypes.x[0].constructor is not allowed',
      ],
      [
        'a control character in modelName',
        { usageTypes: { x: [item(1, { modelName: 'a\u0007' })] } },
        'usageTypes.x[0].modelName must not contain control characters',
      ],
    ])('answers 400 to %s', async (_label, doc, expected) => {
      await expect400(json(doc), 'application/json', expected);
    });

    it('answers at most 20 messages', async () => {
      const items = Array.from({ length: 50 }, (_, i) => item(i + 1, { provider: 'BAD' }));
      const messages = await expect400(json({ usageTypes: { x: items } }), 'application/json');
      expect(messages).toHaveLength(20);
    });

    it('answers 400 to __proto__ in a JSON body (never dropped)', async () => {
      const body = `{"usageTypes":{"x":[{"priority":1,"modelId":"m","modelName":"M","provider":"p","parameters":{"__proto__":{"a":1}}}]}}`;
      await expect400(body, 'application/json', '__proto__');
    });
  });
});
