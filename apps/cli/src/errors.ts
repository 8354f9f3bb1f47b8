/** Exit codes of the command-line tool (README, "Command-line tool"). */
export const EXIT = {
  ok: 0,
  /** The API answered an error, the server could not be reached, or a check failed. */
  failure: 1,
  /** The command line or the configuration is wrong. */
  usage: 2,
  /** The database file is held by a running server. */
  locked: 3,
} as const;

/** An error the tool reports as one message (never a stack) and exits with `exitCode`. */
export class CliError extends Error {
  override readonly name = 'CliError';

  constructor(
    message: string,
    readonly exitCode: number = EXIT.failure,
  ) {
    super(message);
  }
}

/** A mistake on the command line: exit code 2. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT.usage);
  }
}

/** The standard error body of the API (docs/API.md §2, Errors). */
export interface ApiErrorBody {
  statusCode: number;
  error?: string;
  code: string;
  message: string | string[];
}

/** A non-2xx answer of the API: exit code 1, printed as its `code` and `message`. */
export class ApiFailure extends CliError {
  constructor(
    readonly status: number,
    readonly body: ApiErrorBody,
    readonly raw: string,
  ) {
    const lines = Array.isArray(body.message) ? body.message : [body.message];
    const [first, ...rest] = lines;
    const message = [`${body.code} (${status}): ${first ?? ''}`, ...rest.map((l) => `  ${l}`)];
    super(message.join('\n'), EXIT.failure);
  }
}

/** Reads an error body from an answer that is not 2xx (a non-standard body gets a generic one). */
export function apiFailureOf(status: number, text: string): ApiFailure {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const standard = body as Partial<ApiErrorBody> | undefined;
  if (standard && typeof standard.code === 'string' && standard.message !== undefined) {
    return new ApiFailure(status, standard as ApiErrorBody, text);
  }
  const message = text.trim() === '' ? `HTTP ${status}` : text.trim().slice(0, 500);
  return new ApiFailure(status, { statusCode: status, code: `HTTP_${status}`, message }, text);
}

/** The message of an error and of its causes, for recognising a failure (never printed whole). */
export function messageChain(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    parts.push(current instanceof Error ? current.message : String(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(' | ');
}
