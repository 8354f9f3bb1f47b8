import { LineCounter, stringify } from 'yaml';
import { ApiError } from '../common/api-error';
import { BodyParseError } from '../common/json-body.parser';
import type { ModelConfig } from '../model-configs/model-config.types';
import { parseConfigDocument } from './config-document';
import { renderDocument, toExportDocument } from './config-export';
import { planImport, toImportPlan } from './config-plan';
import {
  canonicalJson,
  compareCodePoints,
  fieldPath,
  findDataProblem,
  sameJson,
} from './document-data';
import { parseYamlBody } from './yaml-body.parser';
import { parseSyntaxTree } from './yaml-syntax-tree';

const config = (usageType: string, priority: number, extra: Partial<ModelConfig> = {}) =>
  ({
    id: `${usageType}-${priority}`,
    usageType,
    priority,
    modelId: `m${priority}`,
    modelName: `M${priority}`,
    provider: 'p',
    parameters: {},
    enabled: true,
    version: 1,
    createdAt: '2024-01-01T00:00:00.000Z',
    updatedAt: '2024-01-01T00:00:00.000Z',
    ...extra,
  }) satisfies ModelConfig;

const item = (priority: number, extra: object = {}) => ({
  priority,
  modelId: `m${priority}`,
  modelName: `M${priority}`,
  provider: 'p',
  ...extra,
});

/** A value nested `levels` deep (arrays and objects alternating). */
function nested(levels: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < levels; i++) value = i % 2 ? [value] : { k: value };
  return value;
}

describe('document data', () => {
  it('names paths with dots for plain keys and JSON brackets for the rest', () => {
    expect(fieldPath(fieldPath(fieldPath('usageTypes', 'chat_deep'), 2), 'provider')).toBe(
      'usageTypes.chat_deep[2].provider',
    );
    expect(fieldPath('usageTypes', 'gpt.4')).toBe('usageTypes["gpt.4"]');
    expect(fieldPath('', 'a b')).toBe('["a b"]');
    expect(fieldPath('x', 'k'.repeat(100))).toBe(`x["${'k'.repeat(64)}…"]`);
  });

  it('finds cycles, depth, non-JSON values and __proto__, iteratively', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(findDataProblem({ a: cycle })).toMatch(/^a(\.self)+ nests deeper than 64 levels$/);
    expect(findDataProblem(nested(64))).toBeUndefined();
    expect(findDataProblem(nested(65))).toMatch(/nests deeper than 64 levels$/);
    expect(findDataProblem({ a: [1, Infinity] })).toBe('a[1] must be a finite number');
    expect(findDataProblem({ d: new Date() })).toBe('d is not a JSON value');
    expect(findDataProblem(JSON.parse('{"p":{"__proto__":1}}'))).toBe(
      'p uses the forbidden key __proto__',
    );
    expect(findDataProblem({ s: '\ud800' })).toBe('s contains an unpaired surrogate');
    const shared = Array.from({ length: 1_000 }, () => 0);
    expect(findDataProblem({ many: Array.from({ length: 1_001 }, () => shared) })).toMatch(
      /more than 1000000 values/,
    );
  });

  it('orders by code point and canonicalizes keys, keeping prototype-named keys as data', () => {
    expect(['\uffff', '\u{10000}', 'b', 'a'].sort(compareCodePoints)).toEqual([
      'a',
      'b',
      '\uffff',
      '\u{10000}',
    ]);
    const value = JSON.parse('{"toString":1,"constructor":{"b":1,"a":[{"z":1,"y":2}]}}');
    const canonical = canonicalJson(value) as Record<string, unknown>;
    expect(JSON.stringify(canonical)).toBe(
      '{"constructor":{"a":[{"y":2,"z":1}],"b":1},"toString":1}',
    );
    expect(Object.hasOwn(canonical, 'constructor')).toBe(true);
    expect(sameJson({ a: 1, b: 2 }, { b: 2, a: 1 })).toBe(true);
    expect(sameJson({ a: [1, 2] }, { a: [2, 1] })).toBe(false);
  });
});

describe('parseConfigDocument', () => {
  const messages = (body: unknown): string[] => {
    try {
      parseConfigDocument(body);
    } catch (error) {
      if (error instanceof ApiError) return (error.getResponse() as { message: string[] }).message;
      throw error;
    }
    return [];
  };

  it('reads usage types into a Map, items by priority, with defaults', () => {
    const doc = parseConfigDocument({ usageTypes: { constructor: [item(2), item(1)] } });
    expect([...doc.usageTypes.keys()]).toEqual(['constructor']);
    expect(doc.usageTypes.get('constructor')).toEqual([
      { ...item(1), enabled: true, parameters: {} },
      { ...item(2), enabled: true, parameters: {} },
    ]);
  });

  it('names every bad field by its path', () => {
    expect(
      messages({
        usageTypes: { x: [item(1, { colour: 1 }), item(1), item(3, { provider: 'B' })] },
        extra: 1,
      }),
    ).toEqual([
      'extra is not allowed',
      'usageTypes.x[0].colour is not allowed',
      'usageTypes.x[2].provider must match ^[a-z0-9][a-z0-9_.-]*$',
    ]);
    expect(messages({ usageTypes: { x: [item(1), item(1)] } })).toEqual([
      'usageTypes.x[1].priority 1 is already used by usageTypes.x[0]',
    ]);
    expect(messages([])).toEqual(['document must be an object with a usageTypes field']);
  });
});

describe('plans and exports', () => {
  it('plans per slot in code-point and priority order; deletes only with prune', () => {
    const current = [config('b', 2), config('b', 1), config('a', 5), config('constructor', 1)];
    const document = parseConfigDocument({
      usageTypes: { b: [item(1, { modelName: 'New' }), item(3)], a: [item(5)] },
    });
    const keep = planImport(current, document, false).map((s) => [s.action, s.change.usageType]);
    expect(keep).toEqual([
      ['unchanged', 'a'],
      ['update', 'b'],
      ['create', 'b'],
    ]);
    const pruned = toImportPlan(planImport(current, document, true), true);
    expect(pruned.summary).toEqual({ create: 1, update: 1, delete: 2, unchanged: 1 });
    expect(pruned.changes.map((c) => `${c.action} ${c.usageType}/${c.priority}`)).toEqual([
      'unchanged a/5',
      'update b/1',
      'delete b/2',
      'create b/3',
      'delete constructor/1',
    ]);
    expect(pruned.changes[1].fields).toEqual({ modelName: { from: 'M1', to: 'New' } });
  });

  it('exports a stable document, JSON and YAML alike', () => {
    const configs = [config('b', 2, { parameters: { z: 1, a: 2 } }), config('a', 1)];
    const document = toExportDocument(configs);
    const json = renderDocument(document, 'json');
    expect(json).toBe(renderDocument(toExportDocument([...configs].reverse()), 'json'));
    expect(json.endsWith('}\n')).toBe(true);
    expect(Object.keys(document.usageTypes)).toEqual(['a', 'b']);
    expect(JSON.stringify(document.usageTypes.b[0].parameters)).toBe('{"a":2,"z":1}');
    expect(parseYamlBody(Buffer.from(renderDocument(document, 'yaml')))).toEqual(JSON.parse(json));
  });
});

describe('YAML bodies', () => {
  const refused = (text: string): string => {
    try {
      parseYamlBody(Buffer.from(text));
    } catch (error) {
      if (error instanceof BodyParseError) return error.message;
      throw error;
    }
    throw new Error('accepted');
  };

  it('measures the syntax tree exactly and stops early', () => {
    const deep = (levels: number) => stringify(nested(levels));
    expect(parseSyntaxTree(deep(64), new LineCounter(), 64)).toBeDefined();
    expect(parseSyntaxTree(deep(65), new LineCounter(), 64)).toBeUndefined();
    const started = performance.now();
    expect(refused(`a: ${'{a: '.repeat(200_000)}1`)).toMatch(/nests deeper than 64 levels/);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('refuses tags, duplicates, several documents and alias bombs with a 400', () => {
    expect(refused('a: !!js/function "f"')).toMatch(/line 1, column 4: Unresolved tag/);
    expect(refused('a: 1\na: 2')).toMatch(/line 2, column 1: Map keys must be unique/);
    expect(refused('a: 1\n---\nb: 2')).toMatch(/several YAML documents/);
    expect(refused(`a: &a [1]\nb: [${Array(200).fill('*a').join(',')}]`)).toMatch(/aliases/);
    expect(refused('a: !!binary aGk=')).toMatch(/Unresolved tag/);
    expect(parseYamlBody(Buffer.from('%YAML 1.1\n---\na: yes\n'))).toEqual({ a: 'yes' });
    expect(parseYamlBody(Buffer.alloc(0))).toEqual({});
  });
});
