import { Transform, plainToInstance } from 'class-transformer';
import { IsInt, IsString, Matches, validate } from 'class-validator';
import { ListModelConfigsQuery, SlotParams } from './params.dto';
import {
  IsOmittable,
  IsParameters,
  NO_CONTROL_CHARS,
  PARAMETERS_MAX_BYTES,
  PARAMETERS_MAX_DEPTH,
  SLUG,
  toBoolean,
  toInteger,
} from './validators';

/** A body with `parameters` declared as the create DTO declares it. */
class WithParameters {
  @IsOmittable()
  @IsParameters()
  parameters?: unknown;
}

/** A body with a field that may be left out but, when present, must be a slug. */
class WithOmittableSlug {
  @IsOmittable()
  @IsString()
  @Matches(SLUG)
  provider?: unknown;
}

/** A query with a number and a flag, converted as the list query converts them. */
class WithConversions {
  @Transform(toInteger)
  @IsInt()
  limit!: unknown;

  @Transform(toBoolean)
  enabled!: unknown;
}

/** The messages validation gives `plain` as an instance of `type` (none when it is valid). */
async function errorsOf<T extends object>(
  type: new () => T,
  plain: Record<string, unknown>,
): Promise<string[]> {
  const errors = await validate(plainToInstance(type, plain), { forbidUnknownValues: true });
  return errors.flatMap((error) => Object.values(error.constraints ?? {}));
}

/** Objects nested `levels` deep: `{}` is 1 level, `{a: {}}` is 2. */
function nested(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = {};
  for (let level = 1; level < levels; level++) value = { a: value };
  return value;
}

/** `{"k":"…"}` of exactly `bytes` bytes once serialized, written with `char`. */
function sized(bytes: number, char = 'x'): Record<string, unknown> {
  const charBytes = Buffer.byteLength(char);
  const overhead = Buffer.byteLength('{"k":""}');
  return { k: char.repeat((bytes - overhead) / charBytes) };
}

describe('IsParameters', () => {
  it('accepts a plain JSON object, empty or with nested values', async () => {
    expect(await errorsOf(WithParameters, { parameters: {} })).toEqual([]);
    expect(
      await errorsOf(WithParameters, {
        parameters: { temperature: 0.2, stop: ['\n'], tools: { web: { enabled: true } } },
      }),
    ).toEqual([]);
  });

  it.each<[string, unknown]>([
    ['an array', [1, 2]],
    ['a string', '{"temperature":0.2}'],
    ['a number', 3],
    ['a boolean', true],
    ['null', null],
  ])('refuses %s, naming parameters and its limits', async (_name, parameters) => {
    const messages = await errorsOf(WithParameters, { parameters });
    expect(messages).toEqual([
      `parameters must be a JSON object of at most ${PARAMETERS_MAX_BYTES} bytes and ${PARAMETERS_MAX_DEPTH} levels`,
    ]);
  });

  it('has the documented limits: 16 KiB serialized, 32 levels', () => {
    expect(PARAMETERS_MAX_BYTES).toBe(16 * 1024);
    expect(PARAMETERS_MAX_DEPTH).toBe(32);
  });

  it('accepts exactly 16 KiB serialized and refuses one byte more', async () => {
    expect(Buffer.byteLength(JSON.stringify(sized(PARAMETERS_MAX_BYTES)))).toBe(16_384);
    expect(await errorsOf(WithParameters, { parameters: sized(PARAMETERS_MAX_BYTES) })).toEqual([]);
    expect(
      await errorsOf(WithParameters, { parameters: sized(PARAMETERS_MAX_BYTES + 1) }),
    ).toHaveLength(1);
  });

  it('counts bytes, not characters: 2-byte characters reach the limit at half the length', async () => {
    const atLimit = sized(PARAMETERS_MAX_BYTES, 'é');
    expect(String(atLimit.k).length).toBeLessThan(PARAMETERS_MAX_BYTES / 2);
    expect(await errorsOf(WithParameters, { parameters: atLimit })).toEqual([]);
    expect(
      await errorsOf(WithParameters, { parameters: sized(PARAMETERS_MAX_BYTES + 2, 'é') }),
    ).toHaveLength(1);
  });

  it('accepts 32 levels of nesting and refuses 33', async () => {
    expect(await errorsOf(WithParameters, { parameters: nested(PARAMETERS_MAX_DEPTH) })).toEqual(
      [],
    );
    expect(
      await errorsOf(WithParameters, { parameters: nested(PARAMETERS_MAX_DEPTH + 1) }),
    ).toHaveLength(1);
  });

  it('counts arrays as levels too', async () => {
    let deep: unknown = [];
    for (let level = 1; level <= PARAMETERS_MAX_DEPTH; level++) deep = [deep];
    // {x: [[…[]…]]}: one object level and 33 array levels.
    expect(await errorsOf(WithParameters, { parameters: { x: deep } })).toHaveLength(1);
  });

  it('measures the deepest branch, not the first one', async () => {
    const parameters = { shallow: 1, deep: nested(PARAMETERS_MAX_DEPTH) };
    expect(await errorsOf(WithParameters, { parameters })).toHaveLength(1);
  });

  it('keeps keys named like Object.prototype members as data', async () => {
    const parameters = JSON.parse('{"constructor":{"prototype":1},"toString":"x"}') as object;
    // Validated as given: the body parser and the pipe carry such keys through (validation.ts).
    const body = Object.assign(new WithParameters(), { parameters });
    expect(await validate(body)).toEqual([]);
  });
});

describe('IsOmittable', () => {
  it('skips validation when the field is absent (undefined)', async () => {
    expect(await errorsOf(WithOmittableSlug, {})).toEqual([]);
    expect(await errorsOf(WithOmittableSlug, { provider: undefined })).toEqual([]);
    expect(await errorsOf(WithParameters, {})).toEqual([]);
  });

  it('validates an explicit null like any wrong value (unlike @IsOptional)', async () => {
    expect(await errorsOf(WithOmittableSlug, { provider: null })).not.toEqual([]);
    expect(await errorsOf(WithParameters, { parameters: null })).toHaveLength(1);
  });

  it('still validates a present value', async () => {
    expect(await errorsOf(WithOmittableSlug, { provider: 'ollama' })).toEqual([]);
    expect(await errorsOf(WithOmittableSlug, { provider: 'Not A Slug' })).toHaveLength(1);
  });
});

describe('toInteger', () => {
  it.each([
    ['42', 42],
    ['0', 0],
    ['007', 7],
    ['999999999999999', 999_999_999_999_999],
  ])('turns the decimal string %j into %p', (value, expected) => {
    expect(toInteger({ value })).toBe(expected);
  });

  it.each<unknown>(['', ' 1', '1 ', '-1', '+1', '1.5', '1e3', '0x10', 'abc', '1000000000000000'])(
    'leaves %j as it is, for validation to refuse',
    (value) => {
      expect(toInteger({ value })).toBe(value);
    },
  );

  it.each<unknown>([5, null, undefined, true])('leaves the non-string %p as it is', (value) => {
    expect(toInteger({ value })).toBe(value);
  });

  it('makes a path priority such as "5" valid, and refuses "5.0" with the field named', async () => {
    expect(await errorsOf(SlotParams, { usageType: 'chat_deep', priority: '5' })).toEqual([]);
    expect(await errorsOf(SlotParams, { usageType: 'chat_deep', priority: '5.0' })).toContain(
      'priority must be an integer from 1 to 1000',
    );
    expect(await errorsOf(WithConversions, { limit: '12', enabled: 'true' })).toEqual([]);
  });
});

describe('toBoolean', () => {
  it('turns "true" and "false" into booleans', () => {
    expect(toBoolean({ value: 'true' })).toBe(true);
    expect(toBoolean({ value: 'false' })).toBe(false);
  });

  it.each<unknown>(['TRUE', 'False', '1', '0', 'yes', '', ' true', true, false, 1, undefined])(
    'leaves %p as it is',
    (value) => {
      expect(toBoolean({ value })).toBe(value);
    },
  );

  it('lets ?enabled=false filter, and refuses ?enabled=yes with the field named', async () => {
    const query = plainToInstance(ListModelConfigsQuery, { enabled: 'false' });
    expect(query.enabled).toBe(false);
    expect(await validate(query)).toEqual([]);
    expect(await errorsOf(ListModelConfigsQuery, { enabled: 'yes' })).toEqual([
      'enabled must be true or false',
    ]);
  });
});

describe('SLUG and NO_CONTROL_CHARS', () => {
  it.each(['chat_deep', 'embedding', 'llama3.1', 'a', '0-x'])('SLUG accepts %j', (value) => {
    expect(SLUG.test(value)).toBe(true);
  });

  it.each(['', 'Chat', '_x', '.x', 'a b', 'a/b', 'ä'])('SLUG refuses %j', (value) => {
    expect(SLUG.test(value)).toBe(false);
  });

  it('NO_CONTROL_CHARS accepts model ids and refuses control characters', () => {
    expect(NO_CONTROL_CHARS.test('openrouter/auto')).toBe(true);
    expect(NO_CONTROL_CHARS.test('llama3.1:8b — Ünïcode')).toBe(true);
    for (const control of ['\n', '\t', '\u0000', '\u007f', '\u009b']) {
      expect(NO_CONTROL_CHARS.test(`model${control}id`)).toBe(false);
    }
  });
});
