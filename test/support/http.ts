import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import type { Response } from 'supertest';

/** A ModelConfig as the API returns it (API.md §1). */
export interface ModelConfig {
  id: string;
  usageType: string;
  priority: number;
  modelId: string;
  modelName: string;
  provider: string;
  parameters: Record<string, unknown>;
  enabled: boolean;
  version: number;
  createdAt: string;
  updatedAt: string;
}

/** The body of `GET /model-configs`. */
export interface ConfigPage {
  items: ModelConfig[];
  total: number;
  limit: number;
  offset: number;
}

/** One row of `GET /usage-types`. */
export interface UsageTypeSummary {
  usageType: string;
  total: number;
  enabled: number;
  activeModelId: string | null;
}

/** The standard error body (API.md §2, Errors). */
export interface ErrorBody {
  statusCode: number;
  error: string;
  code: string;
  message: string | string[];
  [extra: string]: unknown;
}

/** The create body of a config. */
// A type alias (not an interface) so that it is assignable to `Record<string, unknown>`.
export type CreateBody = {
  usageType: string;
  priority: number;
  modelId: string;
  modelName: string;
  provider: string;
  parameters?: Record<string, unknown>;
  enabled?: boolean;
};

export const API = '/api/v1';
export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
export const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Payload Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** Things that must never reach a response body: SQL, stack traces, file paths, driver errors. */
const LEAKS: RegExp[] = [
  /\bSELECT\b/,
  /INSERT INTO/i,
  /DELETE FROM/i,
  /\bUPDATE\s+model_configs/i,
  /model_configs/,
  / {4}at /,
  /\n\s+at\s/,
  /\/work\//,
  /node_modules/,
  /\.duckdb/,
  /\.ts:\d+/,
  /(Binder|Parser|Catalog|Constraint|Conversion|Invalid Input|TransactionContext) Error/,
];

let sequence = 0;

/** A usage type (or provider) no other test uses: a valid slug, unique in this process. */
export function unique(prefix = 'ut'): string {
  sequence += 1;
  return `${prefix}-${process.pid}-${sequence}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A valid create body for `usageType`/`priority`, with `overrides`. */
export function configBody(
  usageType: string,
  priority = 1,
  overrides: Partial<CreateBody> = {},
): CreateBody {
  return {
    usageType,
    priority,
    modelId: `model-${priority}`,
    modelName: `Model ${priority}`,
    provider: 'test-provider',
    ...overrides,
  };
}

/** Asserts that a body holds no SQL, stack trace or file path. */
export function expectNoLeak(text: string): void {
  for (const leak of LEAKS) {
    if (leak.test(text)) {
      throw new Error(`Response body leaks internals (${String(leak)}): ${text.slice(0, 500)}`);
    }
  }
}

/** Asserts the headers every response carries (API.md §2, Hostile input). */
export function expectCommonHeaders(headers: Record<string, unknown>): void {
  const id = headers['x-request-id'];
  expect(typeof id).toBe('string');
  expect(String(id)).toMatch(/^[\x21-\x7e]{1,128}$/);
  expect(headers['x-content-type-options']).toBe('nosniff');
  expect(headers['x-powered-by']).toBeUndefined();
}

/** Checks and returns the standard error body of an error response. */
export function expectErrorBody(
  status: number,
  code: string,
  actual: { status: number; headers: Record<string, unknown>; text: string },
): ErrorBody {
  expectNoLeak(actual.text);
  if (actual.status !== status) {
    throw new Error(
      `Expected ${status} ${code}, got ${actual.status}: ${actual.text.slice(0, 500)}`,
    );
  }
  expectCommonHeaders(actual.headers);
  expect(String(actual.headers['content-type'])).toMatch(/^application\/json/);
  const body = JSON.parse(actual.text) as ErrorBody;
  expect(body.statusCode).toBe(status);
  expect(body.code).toBe(code);
  expect(body.error).toBe(REASONS[status]);
  if (status === 400) {
    expect(Array.isArray(body.message)).toBe(true);
    const messages = body.message as string[];
    expect(messages.length).toBeGreaterThanOrEqual(1);
    expect(messages.length).toBeLessThanOrEqual(20);
    for (const message of messages) expect(typeof message).toBe('string');
  } else {
    expect(typeof body.message).toBe('string');
    expect((body.message as string).length).toBeGreaterThan(0);
  }
  return body;
}

/** {@link expectErrorBody} for a supertest response. */
export function expectError(res: Response, status: number, code: string): ErrorBody {
  return expectErrorBody(status, code, res);
}

/** Asserts a 400 whose message names `field` (in at least one of its entries). */
export function expectValidation(res: Response, ...fields: string[]): string[] {
  const body = expectError(res, 400, 'VALIDATION_FAILED');
  const messages = body.message as string[];
  for (const field of fields) {
    if (!messages.some((message) => message.includes(field))) {
      throw new Error(`No 400 message names "${field}": ${JSON.stringify(messages)}`);
    }
  }
  return messages;
}

/** Asserts a successful response's common headers and returns its body as `T`. */
export function ok<T>(res: Response, status = 200): T {
  if (res.status >= 400) expectNoLeak(res.text);
  if (res.status !== status) {
    throw new Error(`Expected ${status}, got ${res.status}: ${res.text.slice(0, 500)}`);
  }
  expectCommonHeaders(res.headers);
  return res.body as T;
}

/** A response read over a raw socket. */
export interface RawResponse {
  status: number;
  headers: Record<string, unknown>;
  text: string;
}

/**
 * Sends exactly `body` (bytes as given, no serialization) with exactly `headers`, for inputs
 * supertest would rewrite (invalid UTF-8, odd content types).
 */
export function rawRequest(
  baseUrl: string,
  options: {
    method: string;
    path: string;
    headers?: Record<string, string>;
    body?: Buffer | string;
  },
): Promise<RawResponse> {
  const url = new URL(baseUrl);
  const body = options.body === undefined ? undefined : Buffer.from(options.body);
  const headers: Record<string, string> = { ...options.headers };
  const chunked = headers['transfer-encoding'] !== undefined;
  if (body !== undefined && !chunked && headers['content-length'] === undefined) {
    headers['content-length'] = String(body.length);
  }
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: options.method,
        path: options.path,
        headers,
        agent: false,
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
    req.on('error', reject);
    if (body !== undefined && chunked) {
      for (let offset = 0; offset < body.length; offset += 64 * 1024) {
        req.write(body.subarray(offset, offset + 64 * 1024));
      }
      req.end();
    } else req.end(body);
  });
}

/**
 * Writes `payload` verbatim on a fresh TCP connection and returns everything the server sends
 * until it closes the connection (or `timeoutMs` passes).
 */
export function rawSocket(baseUrl: string, payload: string, timeoutMs = 3000): Promise<string> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    let received = '';
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') return;
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.write(payload);
  });
}
