/** The public API under /api/v1, same origin as this page. The key never goes into a URL. */
export const API = '/api/v1';

const KEY_STORAGE = 'model-configs-admin.apiKey';

/** The standard error body (docs/API.md §2, Errors). */
export interface ErrorBody {
  statusCode: number;
  error: string;
  code: string;
  message: string | string[];
  details?: unknown;
}

/** A failed request: the status and the API's error body (or a stand-in for a network failure). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The API key typed by the user, kept for this tab only (sessionStorage). */
export function getApiKey(): string {
  try {
    return sessionStorage.getItem(KEY_STORAGE) ?? '';
  } catch {
    return '';
  }
}

/** Stores (or, with an empty string, forgets) the API key. */
export function setApiKey(key: string): void {
  try {
    if (key === '') sessionStorage.removeItem(KEY_STORAGE);
    else sessionStorage.setItem(KEY_STORAGE, key);
  } catch {
    // Storage refused (private mode): the key is then not kept.
  }
}

export interface RequestOptions {
  /** A JSON value to send, or text with its `contentType`. */
  body?: unknown;
  text?: string;
  contentType?: string;
  /** A version or history seq: sent as `If-Match: "<n>"`. */
  ifMatch?: number | string | null;
}

/** An answer: the body (parsed as JSON unless `asText`) and its ETag. */
export interface Answer<T> {
  data: T;
  etag: string | null;
}

function headersFor(method: string, options: RequestOptions): Record<string, string> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (method !== 'GET') {
    const key = getApiKey();
    if (key !== '') headers['X-API-Key'] = key;
  }
  if (options.ifMatch !== undefined && options.ifMatch !== null) {
    headers['If-Match'] = `"${String(options.ifMatch).replace(/"/g, '')}"`;
  }
  if (options.text !== undefined) headers['Content-Type'] = options.contentType ?? 'text/plain';
  else if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  return headers;
}

async function errorOf(response: Response): Promise<ApiError> {
  let body: Partial<ErrorBody> = {};
  try {
    body = (await response.json()) as Partial<ErrorBody>;
  } catch {
    // Not JSON: the status text will do.
  }
  const message = Array.isArray(body.message) ? body.message.join('; ') : body.message;
  return new ApiError(
    response.status,
    body.code ?? `HTTP_${response.status}`,
    message ?? (response.statusText || `Request failed with status ${response.status}`),
  );
}

/** Calls the API; throws {@link ApiError} for any non-2xx answer or a network failure. */
export async function call<T>(
  method: string,
  path: string,
  options: RequestOptions = {},
  asText = false,
): Promise<Answer<T>> {
  let response: Response;
  try {
    response = await fetch(`${API}${path}`, {
      method,
      headers: headersFor(method, options),
      body: options.text ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'NETWORK_ERROR', 'The server could not be reached.');
  }
  if (!response.ok) throw await errorOf(response);
  const etag = response.headers.get('etag');
  if (response.status === 204) return { data: undefined as T, etag };
  const data = (asText ? await response.text() : await response.json()) as T;
  return { data, etag };
}

/** The number inside an ETag such as `"42"` or `W/"42"`, or null. */
export function etagValue(etag: string | null): string | null {
  const match = etag === null ? null : /(\d+)/.exec(etag);
  return match ? match[1] : null;
}

/** A path segment, encoded. */
export const seg = (value: string): string => encodeURIComponent(value);
