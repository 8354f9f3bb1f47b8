/**
 * Runs generated plans against a running app and checks every response against the contract
 * (docs/API.md): no 5xx, the standard error body with a stable code, 400s that name the field, no
 * internals in any body, rejected writes that store nothing, accepted writes that store exactly
 * what was sent, and a server that keeps answering.
 */
import { request as httpRequest, Agent, STATUS_CODES } from 'node:http';
import fc from 'fast-check';
import type { ModelConfig } from '../support/http';
import { type Plan, type RouteName, bodyText } from './cases';
import { toJsonText } from './json-text';
import {
  AUTHORIZED,
  type BodyLevel,
  type PathPart,
  decodeQuery,
  isExisting,
  isListKey,
  isProtoName,
} from './values';

/** A request as sent. */
export interface Sent {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

/** A response as received. */
export interface Received {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** Bugs this spec found, all fixed (see the regression examples in the spec and FUZZ_STRICT). */
export type KnownBug = 'A' | 'B' | 'C' | 'E' | 'F' | 'H' | 'J';

export const KNOWN_BUGS: Record<KnownBug, string> = {
  A: 'GET /model-configs/grouped answers 500 once a usageType is an Object.prototype name (constructor)',
  B: 'parameters keys named after Object.prototype members (constructor, toString, …) are silently dropped',
  C: 'the body nesting/width limit answers 400 without naming the field',
  E: 'unknown body fields / query parameters named after Object.prototype members are silently ignored instead of 400',
  F: 'an array nested in `items` (bulk, chain) skips item validation and reaches the INSERT: 500',
  H: 'a method no route serves (TRACE, OPTIONS, …) on a path with a malformed percent-encoding: 404 without X-Request-Id and nosniff',
  J: 'a HEAD request the HTTP parser refuses (raw non-ASCII byte in the path) is answered with a body',
};

export interface Violation {
  rule: string;
  message: string;
  known?: KnownBug;
}

/** Stable codes by status: the API.md error table, plus the statuses its Hostile input names. */
const CODES: Record<number, string[]> = {
  400: ['VALIDATION_FAILED'],
  401: ['UNAUTHORIZED'],
  404: ['NOT_FOUND'],
  409: ['SLOT_TAKEN', 'TRANSACTION_CONFLICT'],
  412: ['VERSION_MISMATCH'],
  413: ['PAYLOAD_TOO_LARGE'],
  // "a URL past the server's limit is 414 with the standard error body" (code not in the table).
  414: ['URI_TOO_LONG'],
  415: ['UNSUPPORTED_MEDIA_TYPE'],
  429: ['RATE_LIMITED'],
  // "headers over 16 KiB get 400/431"; the server's own parser error body.
  431: ['VALIDATION_FAILED'],
};

/** What must never reach a response body (API.md: SQL text, stack traces, file paths). */
const SQL_LEAKS: RegExp[] = [
  /\bSELECT\b/,
  /INSERT INTO/i,
  /DELETE FROM/i,
  /\bUPDATE\s+\w+\s+SET\b/i,
  /model_configs/,
  /\bFROM\s+\w+\s+WHERE\b/i,
];
const LEAKS: RegExp[] = [
  ...SQL_LEAKS,
  / {4}at /,
  /\n\s+at\s/,
  /at \S+ \(\S+:\d+:\d+\)/,
  /\/work\//,
  /\/tmp\//,
  /\/home\//,
  /node_modules/,
  /\.duckdb/,
  /\.[jt]s:\d+/,
  /(Binder|Parser|Catalog|Constraint|Conversion|Invalid Input|TransactionContext|Serialization) Error/,
];

/** Driver and runtime error names: never in an error body (metrics and docs may name DuckDB). */
const ERROR_LEAKS: RegExp[] = [
  /\bDuckDB\b/i,
  /\b(TypeError|ReferenceError|SyntaxError|RangeError)\b/,
  /\[object Object\]/,
];

/** 400 messages raised while a body or URL is read, before any field is known. */
const READ_MESSAGES: [RegExp, BodyLevel | 'url' | 'parser'][] = [
  [/^The body is not valid JSON\.$/, 'syntax'],
  [/^The JSON body is empty\.$/, 'syntax'],
  [/^The body is not valid UTF-8\.$/, 'encoding'],
  [/^The body contains an unpaired surrogate\.$/, 'encoding'],
  // Older and newer wordings; the newer name the field ("parameters nests deeper than …").
  [/nests deeper than \d+ levels/, 'depth'],
  [/has more than \d+ members/, 'width'],
  [/^The URL is malformed\.$/, 'url'],
  [/^The request could not be read\.$/, 'parser'],
  // A JSON body that is not an object (`true`, `[]`): no field to name.
  [/^Validation failed \(object is expected\)$/, 'parser'],
];

const VISIBLE_ASCII = /^[\x21-\x7e]{1,128}$/;
const PLACEHOLDER_ID = '5f0c1a52-3b7e-4c1d-9a2b-0d6e4f1a2b3c';
const CONFIG_FIELDS = [
  'usageType',
  'priority',
  'modelId',
  'modelName',
  'provider',
  'parameters',
  'enabled',
] as const;

/** JSON with sorted keys, for comparing values whatever their key order. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'undefined';
}

/** `value` without keys named after Object.prototype members, at any depth. */
function withoutProtoKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutProtoKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([key]) => !isProtoName(key))
        .map(([key, inner]) => [key, withoutProtoKeys(inner)]),
    );
  }
  return value;
}

/** What the parts of a resolved plan are expected to produce. */
export interface Expectation {
  write: boolean;
  authorized: boolean;
  routeKnown: boolean;
  invalid: string[];
  unknown: string[];
  protoUnknown: string[];
  levels: { level: BodyLevel; names: string[]; field: boolean }[];
  /** Names a 400 may use besides the above (path parameters with junk, query keys, If-Match). */
  mentionable: string[];
  ambiguous: boolean;
  urlMalformed: boolean;
  queryMalformed: boolean;
  tooLong: boolean;
  mayMiss: boolean;
  bodyPresent: boolean;
  json: boolean | 'either';
}

export interface Resolved {
  sent: Sent;
  expect: Expectation;
  /** The body as the server should read it (when it is valid JSON). */
  value?: unknown;
  /** Decoded path parameters. */
  params: Record<string, string>;
  /** The config a by-id route targets, as stored before the request. */
  target?: ModelConfig;
}

/** Every field a body of the API can have. */
const BODY_FIELDS = [...CONFIG_FIELDS, 'items'];

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** One running app under test. */
export class FuzzHarness {
  /** The full state as of the last snapshot. */
  state: ModelConfig[] = [];
  readonly known = new Map<KnownBug, { count: number; example: string }>();
  requests = 0;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });

  constructor(
    readonly url: string,
    readonly apiKey: string,
    private readonly alive: () => string | undefined,
    private readonly strict: boolean,
  ) {}

  close(): void {
    this.agent.destroy();
  }

  /** Sends exactly `sent` and reads the whole answer (or fails after `timeoutMs`). */
  send(sent: Sent, timeoutMs = 15_000): Promise<Received> {
    const url = new URL(this.url);
    const headers = { ...sent.headers };
    if (sent.body !== undefined) headers['content-length'] = String(sent.body.length);
    this.requests += 1;
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          method: sent.method,
          path: sent.path,
          headers,
          agent: this.agent,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              text: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          res.on('error', reject);
        },
      );
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`No answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(sent.body);
    });
  }

  /** The whole table through the public list (every page), in the list's order. */
  async snapshot(): Promise<ModelConfig[]> {
    const items: ModelConfig[] = [];
    for (let offset = 0; ; offset += 1000) {
      const res = await this.send({
        method: 'GET',
        path: `/api/v1/model-configs?limit=1000&offset=${offset}`,
        headers: {},
      });
      if (res.status !== 200) throw new Error(`Snapshot failed: ${res.status} ${res.text}`);
      const page = JSON.parse(res.text) as { items: ModelConfig[]; total: number };
      items.push(...page.items);
      if (items.length >= page.total || page.items.length === 0) return items;
    }
  }

  /** Fills in references to stored configs and builds the exact request and its expectations. */
  resolve(plan: Plan): Resolved {
    const expect: Expectation = {
      write: plan.method !== 'GET' && plan.method !== 'HEAD',
      authorized: AUTHORIZED.has(plan.auth),
      routeKnown: plan.route !== 'junk' && plan.route !== 'ops',
      invalid: [],
      unknown: [],
      protoUnknown: [],
      levels: [],
      mentionable: [],
      ambiguous: false,
      urlMalformed: false,
      queryMalformed: false,
      tooLong: false,
      mayMiss: false,
      bodyPresent: false,
      json: true,
    };
    const params: Record<string, string> = {};
    let paramIndex = 0;
    const segments = plan.path.map((part) => {
      if (typeof part === 'string') return part;
      const name = plan.params[paramIndex++] ?? '';
      return this.segment(part, name, expect, params);
    });
    let path = `/${segments.join('/')}`;

    // Query
    const query = plan.query.map((pair) => pair.raw);
    if (plan.route === 'list') {
      const counts = new Map<string, number>();
      for (const pair of plan.query) counts.set(pair.key, (counts.get(pair.key) ?? 0) + 1);
      for (const pair of plan.query) {
        expect.mentionable.push(pair.key);
        if (pair.malformed) expect.queryMalformed = true;
        if (!isListKey(pair.key)) {
          (isProtoName(pair.key) ? expect.protoUnknown : expect.unknown).push(pair.key);
        } else if (!pair.ok || (counts.get(pair.key) ?? 0) > 1) {
          // "a repeated query parameter is 400"
          expect.invalid.push(pair.key);
        } else {
          const decoded = decodeQuery(pair.raw.slice(pair.key.length + 1));
          if (decoded.malformed) expect.queryMalformed = true;
        }
      }
    }
    if (plan.auth === 'query-only' && expect.write) query.push(`api_key=${this.apiKey}`);
    if (query.length > 0) path += `?${query.join('&')}`;

    // Headers
    const headers: Record<string, string> = {};
    Object.assign(headers, this.authHeaders(plan));
    if (plan.requestId !== undefined) headers['x-request-id'] = plan.requestId;
    if (plan.override) headers[plan.override[0]] = plan.override[1];
    let target: ModelConfig | undefined;
    if (plan.route === 'patch' || plan.route === 'delete' || plan.route === 'get') {
      // UUIDs compare case-insensitively (an upper-case id finds its config).
      target = this.state.find((c) => c.id === params.id?.toLowerCase());
    } else if (plan.route === 'upsert' || plan.route === 'delete-slot') {
      target = this.state.find(
        (c) => c.usageType === params.usageType && String(c.priority) === params.priority,
      );
      if (!target && /^\d{1,15}$/.test(params.priority ?? '')) {
        target = this.state.find(
          (c) => c.usageType === params.usageType && c.priority === Number(params.priority),
        );
      }
    }
    if (plan.ifMatch) {
      const version = target?.version ?? 1;
      headers['if-match'] = plan.ifMatch.text
        .replace('{v+1}', String(version + 1))
        .replace('{v+7}', String(version + 7))
        .replaceAll('{v}', String(version));
      expect.mentionable.push('If-Match');
      if (plan.ifMatch.kind === 'malformed') {
        if (['patch', 'delete', 'upsert'].includes(plan.route)) expect.invalid.push('If-Match');
      }
    }

    // Body
    let body: Buffer | undefined;
    let value: unknown;
    if (plan.body) {
      let text = bodyText(plan.body, {
        usageType: params.usageType ?? '',
        priority: params.priority ?? '',
      });
      const mutation = plan.body.mutation;
      let level: BodyLevel | 'ok' | 'either' = 'ok';
      let field = false;
      switch (mutation.kind) {
        case 'none':
          break;
        case 'truncate':
          if (text.length > 1) {
            text = text.slice(0, 1 + (mutation.at % (text.length - 1)));
            level = 'syntax';
          }
          break;
        case 'append':
          text += mutation.text;
          level = 'syntax';
          break;
        case 'replace':
          text = mutation.text;
          level = mutation.level;
          break;
        case 'bom':
          text = `\ufeff${text}`;
          level = 'either';
          break;
        case 'top-depth':
          text = `${'['.repeat(mutation.levels)}${']'.repeat(mutation.levels)}`;
          level = 'depth';
          break;
        case 'top-width':
          text = toJsonText(
            Object.fromEntries(Array.from({ length: mutation.members }, (_, i) => [`k${i}`, 0])),
          );
          level = 'width';
          break;
        case 'bytes':
          level = 'encoding';
          field = false;
          break;
      }
      body = Buffer.from(text, 'utf8');
      if (mutation.kind === 'bytes') {
        const at = Math.floor(body.length / 2);
        body = Buffer.concat([
          body.subarray(0, at),
          Buffer.from(mutation.bytes),
          body.subarray(at),
        ]);
      }
      if (level === 'ok') {
        expect.invalid.push(...plan.body.expect.invalid);
        expect.unknown.push(...plan.body.expect.unknown);
        expect.protoUnknown.push(...plan.body.expect.protoUnknown);
        expect.levels.push(...plan.body.expect.levels);
        expect.ambiguous ||= plan.body.expect.ambiguous;
        if (plan.body.expect.levels.length === 0) value = JSON.parse(text);
      } else if (level === 'either') {
        // No exact expectation, but a 400 may name any field of the body.
        expect.ambiguous = true;
        const fields = plan.body.expect;
        expect.mentionable.push(...fields.invalid, ...fields.unknown, ...fields.protoUnknown);
        // A whole body replaced by `null`, `[]`, `1`…: the missing required fields.
        expect.mentionable.push(...BODY_FIELDS);
        expect.levels.push(...fields.levels);
      } else {
        expect.levels.push({ level, names: [], field });
      }
      expect.bodyPresent = body.length > 0;
      if (plan.contentType) {
        if (plan.contentType.value !== null) headers['content-type'] = plan.contentType.value;
        expect.json = plan.contentType.json;
      }
    }
    if (!expect.bodyPresent) expect.json = true;
    // A junk path may still match a route (`/model-configs/by-slot` is DELETE `:id`).
    if (plan.route === 'junk')
      expect.mentionable.push('id', 'usageType', 'priority', 'modelId', 'provider');
    for (const level of expect.levels) expect.mentionable.push(...level.names);

    return {
      sent: { method: plan.method, path, headers, body },
      expect,
      value,
      params,
      target,
    };
  }

  private segment(
    part: PathPart,
    name: string,
    expect: Expectation,
    params: Record<string, string>,
  ): string {
    if (isExisting(part)) {
      const config =
        this.state.length > 0 ? this.state[part.existing % this.state.length] : undefined;
      let value: string;
      switch (part.field) {
        case 'id':
          value = config?.id ?? PLACEHOLDER_ID;
          break;
        case 'usageType':
          value = config?.usageType ?? 'fz-empty';
          break;
        case 'priority':
          value = String(config?.priority ?? 1);
          break;
        case 'modelId':
          value = config?.modelId ?? 'm';
          break;
        case 'provider':
          value = config?.provider ?? 'p';
          break;
      }
      if (part.upper) value = value.toUpperCase();
      if (part.suffix) {
        value += part.suffix;
        expect.invalid.push(name);
      }
      if (name) params[name] = value;
      return encodeURIComponent(value);
    }
    if (name) {
      expect.mentionable.push(name);
      try {
        params[name] = decodeURIComponent(part.raw);
      } catch {
        params[name] = part.raw;
      }
    }
    if (part.malformed) expect.urlMalformed = true;
    if (part.tooLong) expect.tooLong = true;
    if (part.mayMiss) expect.mayMiss = true;
    if (!part.ok && name) {
      // Junk (percent-encoded oddities) may be a valid modelId: no exact expectation.
      if (!part.junk) expect.invalid.push(name);
      else if (!part.malformed && !part.tooLong) expect.ambiguous = true;
    }
    return part.raw;
  }

  private authHeaders(plan: Plan): Record<string, string> {
    const key = this.apiKey;
    switch (plan.auth) {
      case 'x-api-key':
        return { 'x-api-key': key };
      case 'bearer':
        return { authorization: `Bearer ${key}` };
      case 'bearer-lower':
        return { authorization: `bearer ${key}` };
      case 'bearer-spaces':
        return { authorization: `Bearer    ${key}  ` };
      case 'both-one-wrong':
        return { authorization: 'Bearer not-the-key', 'x-api-key': key };
      case 'wrong':
        return { 'x-api-key': 'wrong-key-123456' };
      case 'basic':
        return { authorization: `Basic ${Buffer.from(`user:${key}`).toString('base64')}` };
      case 'bearer-empty':
        return { authorization: 'Bearer ' };
      case 'prefix':
        return { 'x-api-key': key.slice(0, -1) };
      case 'none':
      case 'query-only':
        return {};
    }
  }

  /** Runs one plan and returns every contract violation it shows. */
  async run(plan: Plan): Promise<Violation[]> {
    const resolved = this.resolve(plan);
    const { sent, expect } = resolved;
    const before = this.state;
    let res: Received;
    try {
      res = await this.send(sent);
    } catch (error) {
      const dead = this.alive();
      const message = (error as Error).message;
      // Known bug J: the parser-error answer carries a body even to a HEAD request.
      const headWithBody = !dead && sent.method === 'HEAD' && /Data after/.test(message);
      return [
        {
          rule: headWithBody ? 'http-framing' : 'alive',
          known: headWithBody ? 'J' : undefined,
          message: `${describe(sent)} -> no answer (${message})${dead ? `; the server died: ${dead}` : ''}`,
        },
      ];
    }
    const violations: Violation[] = [];
    const add = (rule: string, message: string, known?: KnownBug) =>
      violations.push({
        rule,
        known,
        message: `${message}\n  request: ${describe(sent)}\n  response: ${res.status} ${res.text.slice(0, 600)}`,
      });

    // 1. Never a 5xx.
    if (res.status >= 500) {
      const grouped = /\/model-configs\/grouped(\?|$)/.test(sent.path);
      const protoUsageType = before.some((c) => isProtoName(c.usageType));
      const items = (looseParse(sent.body) as { items?: unknown } | undefined)?.items;
      const nestedItems =
        (plan.route === 'bulk' || plan.route === 'chain') &&
        Array.isArray(items) &&
        items.some((item) => Array.isArray(item));
      add(
        'no-5xx',
        `answered ${res.status}`,
        grouped && protoUsageType ? 'A' : nestedItems ? 'F' : undefined,
      );
    }
    this.checkHeaders(plan, sent, res, add);
    // 2. The standard error body.
    let messages: string[] | undefined;
    if (res.status >= 400 && sent.method !== 'HEAD') messages = this.checkErrorBody(res, add);
    // 4. No internals.
    this.checkLeaks(sent, res, add);
    // 2 (cont.). A 400 names the field; the status matches what was sent.
    if (res.status === 400 && messages) this.checkNaming(expect, messages, add);
    this.checkStatus(plan, expect, res, messages, add);

    if (sent.method === 'HEAD') {
      // No body to read; only the status (never 5xx, checked above) and the headers.
    } else if (!expect.ambiguous && !expect.mayMiss && expect.invalid.length === 0) {
      this.checkReads(plan, resolved, res, before, add);
    }

    // "Every response carrying one config sets ETag: "<version>"".
    if (
      sent.method !== 'HEAD' &&
      res.status >= 200 &&
      res.status < 300 &&
      ['get', 'create', 'patch', 'upsert', 'active'].includes(plan.route)
    ) {
      const version = (looseParse(Buffer.from(res.text)) as { version?: unknown } | undefined)
        ?.version;
      if (res.headers.etag !== `"${String(version)}"`) {
        add('etag', `ETag ${String(res.headers.etag)} for version ${String(version)}`);
      }
    }

    // 3. Writes: a rejected write stores nothing; an accepted one stores what was sent.
    if (BODY_METHODS.has(sent.method)) {
      const after = await this.snapshot();
      if (res.status >= 400 && canonical(before) !== canonical(after)) {
        add(
          'rejected-write-stores-nothing',
          `a ${res.status} changed the stored state: ${diff(before, after)}`,
        );
      } else if (res.status >= 200 && res.status < 300 && plan.route !== 'junk') {
        this.checkRoundTrip(plan, resolved, res, before, after, add);
      }
      this.state = after;
    } else if (plan.override) {
      const after = await this.snapshot();
      if (canonical(before) !== canonical(after)) {
        add(
          'read-only',
          `a GET with ${plan.override[0]} changed the state: ${diff(before, after)}`,
        );
      }
      this.state = after;
    }

    // 5. Still serving.
    const dead = this.alive();
    if (dead) add('alive', `the server process died: ${dead}`);
    // A known bug's 500 also fails the expected status: same cause.
    const known = violations.find((v) => v.known && v.rule === 'no-5xx')?.known;
    if (known) {
      for (const v of violations) if (v.rule === 'expected-status') v.known ??= known;
    }
    return violations;
  }

  /** Records known violations and throws on any other (or on all of them in strict mode). */
  judge(violations: Violation[]): void {
    const unknown: Violation[] = [];
    for (const violation of violations) {
      if (violation.known && !this.strict) {
        const seen = this.known.get(violation.known);
        if (seen) seen.count += 1;
        else this.known.set(violation.known, { count: 1, example: violation.message });
      } else unknown.push(violation);
    }
    if (unknown.length > 0) {
      throw new Error(
        unknown
          .map((v) => `[${v.rule}${v.known ? `, known bug ${v.known}` : ''}] ${v.message}`)
          .join('\n'),
      );
    }
  }

  private checkHeaders(
    plan: Plan,
    sent: Sent,
    res: Received,
    add: (rule: string, message: string, known?: KnownBug) => void,
  ): void {
    // Known bug H: a method no route serves, on a path with a malformed percent-encoding.
    const unservedMethod = !['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'].includes(sent.method);
    const known: KnownBug | undefined =
      unservedMethod && res.status === 404 && malformedPath(sent.path) ? 'H' : undefined;
    const id = res.headers['x-request-id'];
    if (typeof id !== 'string' || !VISIBLE_ASCII.test(id)) {
      add('headers', `X-Request-Id missing or malformed: ${JSON.stringify(id)}`, known);
    } else if (
      plan.requestId !== undefined &&
      !res.text.includes('The request could not be read.')
    ) {
      // (A request the HTTP parser refused gets a fresh id: its headers were never read.)
      const trimmed = plan.requestId.replace(/^[ \t]+|[ \t]+$/g, '');
      if (VISIBLE_ASCII.test(trimmed) && id !== trimmed) {
        add('headers', `X-Request-Id ${JSON.stringify(trimmed)} was not echoed (got ${id})`);
      }
      if (!VISIBLE_ASCII.test(trimmed) && id === plan.requestId) {
        add('headers', `an invalid X-Request-Id was echoed: ${JSON.stringify(id)}`);
      }
    }
    if (res.headers['x-content-type-options'] !== 'nosniff') {
      add('headers', 'no X-Content-Type-Options: nosniff', known);
    }
    if (res.headers['x-powered-by'] !== undefined) add('headers', 'X-Powered-By is set');
  }

  private checkErrorBody(
    res: Received,
    add: (rule: string, message: string) => void,
  ): string[] | undefined {
    if (res.status >= 500) return undefined; // already a violation; the body is checked for leaks
    if (!/^application\/json/.test(String(res.headers['content-type']))) {
      add('error-body', `content-type ${String(res.headers['content-type'])}`);
      return undefined;
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(res.text) as Record<string, unknown>;
    } catch {
      add('error-body', 'the error body is not JSON');
      return undefined;
    }
    const problems: string[] = [];
    if (body.statusCode !== res.status) problems.push(`statusCode ${String(body.statusCode)}`);
    if (body.error !== STATUS_CODES[res.status]) problems.push(`error ${String(body.error)}`);
    if (!(CODES[res.status] ?? []).includes(String(body.code))) {
      problems.push(`code ${String(body.code)} is not a contract code for ${res.status}`);
    }
    let messages: string[] | undefined;
    if (res.status === 400) {
      const message = body.message;
      if (
        !Array.isArray(message) ||
        message.length < 1 ||
        message.length > 20 ||
        !message.every((m) => typeof m === 'string' && m.length > 0)
      ) {
        problems.push('a 400 message must be an array of 1..20 strings');
      } else messages = message as string[];
    } else if (typeof body.message !== 'string' || body.message.length === 0) {
      problems.push('message must be a non-empty string');
    }
    const extra = Object.keys(body).filter(
      (key) => !['statusCode', 'error', 'code', 'message', 'valid'].includes(key),
    );
    if (extra.length > 0) problems.push(`unexpected members ${extra.join(', ')}`);
    if (problems.length > 0) add('error-body', problems.join('; '));
    return messages;
  }

  private checkLeaks(
    sent: Sent,
    res: Received,
    add: (rule: string, message: string) => void,
  ): void {
    let text = res.text;
    if (
      sent.path.startsWith('/health/database') ||
      sent.path.startsWith('/health?') ||
      sent.path === '/health'
    ) {
      // `file` is the database file's base name by contract; its directory must not show.
      text = text.replace(/"file":"[^"/]*\.duckdb"/g, '"file":"<base name>"');
    }
    let patterns = res.status >= 400 ? [...LEAKS, ...ERROR_LEAKS] : LEAKS;
    if (
      res.status < 400 &&
      (sent.path.startsWith('/metrics') || sent.path.startsWith('/docs-json'))
    ) {
      // Prometheus text and the OpenAPI document describe the service ("SELECT 1" probe): only
      // paths and stack traces would be leaks there.
      patterns = LEAKS.filter((leak) => !SQL_LEAKS.includes(leak));
    }
    const request = `${sent.path} ${sent.body?.toString('utf8') ?? ''} ${Object.values(sent.headers).join(' ')}`;
    for (const leak of patterns) {
      if (leak.test(text) && !leak.test(request)) {
        const match = leak.exec(text);
        add('no-leak', `the body shows ${String(leak)} (${JSON.stringify(match?.[0])})`);
      }
    }
  }

  private checkNaming(
    expect: Expectation,
    messages: string[],
    add: (rule: string, message: string, known?: KnownBug) => void,
  ): void {
    const read = messages
      .map((m) => READ_MESSAGES.find(([pattern]) => pattern.test(m))?.[1])
      .filter((kind) => kind !== undefined);
    if (read.length > 0) {
      // Refused while reading: fine for syntax, encoding and URL errors (no field to name);
      // a depth/width limit hit inside a field must name it (known bug C).
      const fieldLevel = expect.levels.filter((l) => l.field);
      if ((read.includes('depth') || read.includes('width')) && fieldLevel.length > 0) {
        const names = fieldLevel.flatMap((l) => l.names);
        if (!messages.some((m) => names.some((n) => m.includes(n)))) {
          add(
            'names-field',
            `the 400 does not name ${names.join(' / ')}: ${JSON.stringify(messages)}`,
            'C',
          );
        }
      }
      return;
    }
    const names = [
      ...expect.invalid,
      ...expect.unknown,
      ...expect.protoUnknown,
      ...expect.mentionable,
    ].flatMap((name) => [name, name.split('.').pop() ?? name]);
    if (!messages.some((m) => names.some((n) => n.length > 0 && m.includes(n)))) {
      add(
        'names-field',
        `no 400 message names an offending field (candidates: ${JSON.stringify([...new Set(names)])}): ${JSON.stringify(messages)}`,
      );
    }
  }

  /** The status the contract calls for, in the order the server checks things. */
  private checkStatus(
    plan: Plan,
    expect: Expectation,
    res: Received,
    messages: string[] | undefined,
    add: (rule: string, message: string, known?: KnownBug) => void,
  ): void {
    if (!expect.routeKnown || expect.ambiguous || expect.mayMiss) return;
    const status = res.status;
    const want = (allowed: number[], why: string, known?: KnownBug) => {
      if (!allowed.includes(status))
        add('expected-status', `expected ${allowed.join('/')} (${why})`, known);
    };
    if (expect.tooLong) return want([414, 400], 'a path segment over the router limit');
    if (expect.urlMalformed) return want([400], 'a malformed percent-encoding in the path');
    if (expect.bodyPresent && expect.json === 'either') return;
    if (expect.bodyPresent && expect.json === false) {
      return want([415], 'a body that is not application/json');
    }
    if (expect.levels.length > 0) {
      if (expect.levels.some((l) => l.level === 'too-large'))
        return want([413], 'a body over 1 MiB');
      return want(
        [400],
        `a body refused while read (${expect.levels.map((l) => l.level).join(', ')})`,
      );
    }
    if (expect.write && !expect.authorized) return want([401], `a write with auth "${plan.auth}"`);
    if (expect.invalid.length > 0 || expect.unknown.length > 0 || expect.queryMalformed) {
      return want([400], `invalid ${[...expect.invalid, ...expect.unknown].join(', ')}`);
    }
    if (expect.protoUnknown.length > 0) {
      return want([400], `unknown ${expect.protoUnknown.join(', ')}`, 'E');
    }
    if ([400, 401, 413, 414, 415].includes(status)) {
      add(
        'expected-status',
        `a valid request was refused${messages ? `: ${JSON.stringify(messages)}` : ''}`,
      );
    }
  }

  /**
   * Read after write: every read path answers from the state the list shows right now (the list is
   * not response-cached; the other reads are).
   */
  private checkReads(
    plan: Plan,
    resolved: Resolved,
    res: Received,
    state: ModelConfig[],
    add: (rule: string, message: string) => void,
  ): void {
    if (res.status !== 200 && res.status !== 404) return;
    const body = looseParse(Buffer.from(res.text)) as Record<string, unknown> | undefined;
    const { usageType, modelId, provider, id } = resolved.params;
    const ofType = state
      .filter((c) => c.usageType === usageType)
      .sort((a, b) => a.priority - b.priority);
    const enabled = ofType.filter((c) => c.enabled);
    const mismatch = (what: string, expected: unknown) =>
      add('read-after-write', `${what}: expected ${canonical(expected).slice(0, 300)}`);
    switch (plan.route) {
      case 'get': {
        const config = state.find((c) => c.id === id?.toLowerCase());
        if (res.status === 200 ? canonical(body) !== canonical(config) : config !== undefined) {
          mismatch('GET /model-configs/:id', config ?? 404);
        }
        break;
      }
      case 'active':
        if (res.status === 200 ? canonical(body) !== canonical(enabled[0]) : enabled.length > 0) {
          mismatch('active', enabled[0] ?? 404);
        }
        break;
      case 'fallback-chain': {
        const chain = { usageType, modelIds: enabled.map((c) => c.modelId) };
        if (res.status === 200 ? canonical(body) !== canonical(chain) : ofType.length > 0) {
          mismatch('fallback-chain', ofType.length > 0 ? chain : 404);
        }
        break;
      }
      case 'validate-model': {
        const matches = enabled.filter((c) => c.modelId === modelId);
        const config = (body as { config?: ModelConfig } | undefined)?.config;
        const ok =
          res.status === 200
            ? body?.valid === true && matches.some((c) => canonical(c) === canonical(config))
            : body?.valid === false && matches.length === 0;
        if (!ok)
          mismatch('validate-model', matches.length ? { valid: true, config: matches } : 404);
        break;
      }
      case 'provider-models': {
        const ids = [
          ...new Set(
            state.filter((c) => c.enabled && c.provider === provider).map((c) => c.modelId),
          ),
        ];
        const got = (body as { modelIds?: string[] } | undefined)?.modelIds ?? [];
        const byCodePoint = (a: string, b: string) => {
          const x = [...a].map((ch) => ch.codePointAt(0) ?? 0);
          const y = [...b].map((ch) => ch.codePointAt(0) ?? 0);
          for (let i = 0; i < Math.min(x.length, y.length); i++)
            if (x[i] !== y[i]) return x[i] - y[i];
          return x.length - y.length;
        };
        const sorted =
          got.every((m, i) => i === 0 || byCodePoint(got[i - 1], m) < 0) ||
          got.every((m, i) => i === 0 || got[i - 1] < m);
        if (
          res.status !== 200 ||
          body?.provider !== provider ||
          canonical([...got].sort()) !== canonical([...ids].sort()) ||
          !sorted
        ) {
          mismatch('provider models (distinct, sorted, enabled only)', ids);
        }
        break;
      }
      case 'usage-types': {
        const types = [...new Set(state.map((c) => c.usageType))].map((type) => {
          const configs = state
            .filter((c) => c.usageType === type)
            .sort((a, b) => a.priority - b.priority);
          const on = configs.filter((c) => c.enabled);
          return {
            usageType: type,
            total: configs.length,
            enabled: on.length,
            activeModelId: on[0]?.modelId ?? null,
          };
        });
        const got = Array.isArray(body) ? (body as { usageType: string }[]) : [];
        const key = (rows: { usageType: string }[]) =>
          canonical([...rows].sort((a, b) => (a.usageType < b.usageType ? -1 : 1)));
        if (res.status !== 200 || key(got) !== key(types)) mismatch('usage-types', types);
        break;
      }
      case 'grouped': {
        // A null-prototype object: usage types such as `constructor` are data (known bug A).
        const grouped = Object.create(null) as Record<string, ModelConfig[]>;
        for (const config of state) (grouped[config.usageType] ??= []).push(config);
        for (const list of Object.values(grouped)) list.sort((a, b) => a.priority - b.priority);
        if (res.status === 200 && canonical(body) !== canonical(grouped))
          mismatch('grouped', grouped);
        break;
      }
      case 'list': {
        if (res.status !== 200 || expect400(resolved)) return;
        const query = new Map(
          plan.query.map((pair) => [
            pair.key,
            decodeQuery(pair.raw.slice(pair.key.length + 1)).value,
          ]),
        );
        const limit = Number(query.get('limit') ?? 100);
        const offset = Number(query.get('offset') ?? 0);
        const filtered = state.filter(
          (c) =>
            (!query.has('usageType') || c.usageType === query.get('usageType')) &&
            (!query.has('provider') || c.provider === query.get('provider')) &&
            (!query.has('enabled') || String(c.enabled) === query.get('enabled')),
        );
        const page = {
          items: filtered.slice(offset, offset + limit),
          total: filtered.length,
          limit,
          offset,
        };
        if (canonical(body) !== canonical(page)) mismatch('list page', page);
        break;
      }
      default:
        break;
    }
  }

  private checkRoundTrip(
    plan: Plan,
    resolved: Resolved,
    res: Received,
    before: ModelConfig[],
    after: ModelConfig[],
    add: (rule: string, message: string, known?: KnownBug) => void,
  ): void {
    const sent = resolved.value as Record<string, unknown> | undefined;
    const body = res.text ? (JSON.parse(res.text) as Record<string, unknown>) : undefined;
    const stored = (config: ModelConfig) => after.find((c) => c.id === config.id);
    /** Compares one returned config with what was sent, and with what is stored. */
    const same = (label: string, got: ModelConfig, wanted: Record<string, unknown>) => {
      for (const field of CONFIG_FIELDS) {
        if (!(field in wanted)) continue;
        if (canonical(got[field]) !== canonical(wanted[field])) {
          const dropped =
            field === 'parameters' &&
            canonical(got[field]) === canonical(withoutProtoKeys(wanted[field]));
          add(
            'round-trip',
            `${label}: ${field} came back as ${canonical(got[field]).slice(0, 200)}, sent ${canonical(wanted[field]).slice(0, 200)}`,
            dropped ? 'B' : undefined,
          );
        }
      }
      const kept = stored(got);
      if (!kept || canonical(kept) !== canonical(got)) {
        add(
          'round-trip',
          `${label}: the list does not show the returned config (read after write)`,
        );
      }
    };
    const defaults = (fields: Record<string, unknown>): Record<string, unknown> => ({
      parameters: {},
      enabled: true,
      ...fields,
    });
    if (!sent && plan.body) return; // an ambiguous body (BOM, last-value-wins): no exact check
    switch (plan.route) {
      case 'create':
        same('create', body as unknown as ModelConfig, defaults(sent ?? {}));
        if (body?.version !== 1) add('round-trip', `create: version ${String(body?.version)}`);
        break;
      case 'patch': {
        const previous = resolved.target;
        if (!previous) return add('round-trip', 'patch: 2xx for an id that was not stored');
        same('patch', body as unknown as ModelConfig, { ...previous, ...sent });
        break;
      }
      case 'upsert': {
        const wanted = defaults({
          ...sent,
          usageType: resolved.params.usageType,
          priority: Number(resolved.params.priority),
        });
        same('upsert', body as unknown as ModelConfig, wanted);
        const previous = before.find(
          (c) => c.usageType === wanted.usageType && c.priority === wanted.priority,
        );
        if ((res.status === 201) !== !previous) {
          add(
            'round-trip',
            `upsert: ${res.status} but the slot was ${previous ? 'taken' : 'empty'}`,
          );
        }
        if (previous && (body?.id !== previous.id || body?.version !== previous.version + 1)) {
          add('round-trip', 'upsert: a replace must keep the id and bump the version');
        }
        break;
      }
      case 'bulk': {
        const items = (sent?.items ?? []) as Record<string, unknown>[];
        const created = (body?.items ?? []) as ModelConfig[];
        if (body?.created !== items.length || created.length !== items.length) {
          return add('round-trip', `bulk: created ${String(body?.created)} of ${items.length}`);
        }
        items.forEach((item, i) => same(`bulk item ${i}`, created[i], defaults(item)));
        break;
      }
      case 'chain': {
        const items = (sent?.items ?? []) as Record<string, unknown>[];
        const created = (body?.items ?? []) as ModelConfig[];
        if (created.length !== items.length) {
          return add('round-trip', `chain: ${created.length} items for ${items.length} sent`);
        }
        items.forEach((item, i) =>
          same(
            `chain item ${i}`,
            created[i],
            defaults({ ...item, usageType: resolved.params.usageType, priority: i + 1 }),
          ),
        );
        const chain = after.filter((c) => c.usageType === resolved.params.usageType);
        if (
          canonical(chain.map((c) => c.id).sort()) !== canonical(created.map((c) => c.id).sort())
        ) {
          add('round-trip', 'chain: the stored chain is not exactly the returned one');
        }
        break;
      }
      case 'delete':
      case 'delete-slot': {
        if (after.length !== before.length - 1) {
          add(
            'round-trip',
            `${plan.route}: ${before.length} configs before, ${after.length} after`,
          );
        }
        if (
          plan.route === 'delete' &&
          after.some((c) => c.id === resolved.params.id?.toLowerCase())
        ) {
          add('round-trip', 'delete: the config is still listed');
        }
        break;
      }
      case 'seed': {
        const inserted = Number(body?.inserted);
        if (after.length !== before.length + inserted) {
          add('round-trip', `seed: inserted ${inserted}, but ${before.length} -> ${after.length}`);
        }
        break;
      }
      case 'reset':
        if (after.length !== 9) add('round-trip', `reset: ${after.length} configs after a reset`);
        break;
      default:
        break;
    }
  }
}

/** True when the resolved request is expected to be refused anyway. */
function expect400(resolved: Resolved): boolean {
  const e = resolved.expect;
  return e.invalid.length + e.unknown.length + e.protoUnknown.length > 0 || e.queryMalformed;
}

/** The body as JSON, a leading BOM ignored; undefined when it is not JSON. */
function looseParse(body: Buffer | undefined): unknown {
  if (!body) return undefined;
  try {
    return JSON.parse(body.toString('utf8').replace(/^\ufeff/, '')) as unknown;
  } catch {
    return undefined;
  }
}

/** True when the path part of `url` has a percent-encoding that does not decode. */
export function malformedPath(url: string): boolean {
  try {
    decodeURIComponent(url.split('?')[0]);
    return false;
  } catch {
    return true;
  }
}

/** A request in one line, replayable with curl. */
export function describe(sent: Sent): string {
  const headers = Object.entries(sent.headers)
    .map(([k, v]) => `-H ${JSON.stringify(`${k}: ${v}`)}`)
    .join(' ');
  const body = sent.body
    ? ` --data-binary ${JSON.stringify(
        sent.body.length > 400
          ? `${sent.body.subarray(0, 400).toString('utf8')}…(${sent.body.length} bytes)`
          : sent.body.toString('utf8'),
      )}`
    : '';
  return `curl -X ${sent.method} '${sent.path.length > 300 ? `${sent.path.slice(0, 300)}…` : sent.path}' ${headers}${body}`;
}

function diff(before: ModelConfig[], after: ModelConfig[]): string {
  const key = (c: ModelConfig) => canonical(c);
  const was = new Set(before.map(key));
  const now = new Set(after.map(key));
  const added = after.filter((c) => !was.has(key(c)));
  const removed = before.filter((c) => !now.has(key(c)));
  return `+${JSON.stringify(added).slice(0, 400)} -${JSON.stringify(removed).slice(0, 400)}`;
}

/** Gives a plan a short form in fast-check's counterexample reports. */
export function labelled(plan: Plan): Plan {
  Object.defineProperty(plan, fc.toStringMethod, {
    value: () =>
      `${plan.method} /${plan.path
        .map((p) =>
          typeof p === 'string'
            ? p
            : isExisting(p)
              ? `<${p.field}#${p.existing}>`
              : p.raw.slice(0, 60),
        )
        .join(
          '/',
        )}${plan.query.length ? `?${plan.query.map((q) => q.raw).join('&')}` : ''} auth=${plan.auth}${
        plan.ifMatch ? ` if-match=${plan.ifMatch.text}` : ''
      }${plan.body ? ` body=${String(plan.body.node).slice(0, 300)} mutation=${plan.body.mutation.kind}` : ''}`,
    enumerable: false,
  });
  return plan;
}

export type { RouteName };
