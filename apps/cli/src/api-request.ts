/** One request to the public API, sent the same way in both modes. */
export interface CliRequest {
  method: 'GET' | 'POST';
  /** `/api/v1/…` or `/health…`. */
  path: string;
  query?: Record<string, string | undefined>;
  body?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

/** The API's answer. */
export interface CliResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** `path?query` with the defined query values, encoded. */
export function withQuery(path: string, query: CliRequest['query'] = {}): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined) params.set(name, value);
  }
  const text = params.toString();
  return text === '' ? path : `${path}?${text}`;
}

/** The application this process built, answering through Fastify's `inject` (no port). */
export interface InjectingApp {
  inject(request: CliRequest & { headers: Record<string, string> }): Promise<CliResponse>;
  close(): Promise<void>;
}

/** The JSON of a body, or undefined when it is empty or not JSON. */
export function parseJson(text: string): unknown {
  try {
    return text === '' ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}
