import sjson from 'secure-json-parse';

/** Deepest nesting accepted in a request body (the `parameters` rule allows 32 levels inside it). */
export const MAX_BODY_DEPTH = 64;

/** Most members one object in a request body may have. */
export const MAX_OBJECT_MEMBERS = 4096;

/** A 400 raised while reading a body; its message is safe to show. */
export class BodyParseError extends Error {
  readonly statusCode = 400;
  readonly expose = true;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;

/**
 * Parses a JSON request body strictly: invalid UTF-8, lone surrogates, nesting deeper than
 * {@link MAX_BODY_DEPTH}, objects wider than {@link MAX_OBJECT_MEMBERS}, `__proto__` keys and
 * malformed JSON are all 400s, found in linear time before any object is built. An empty body
 * reads as `{}`. Keys named like `Object.prototype` members (`constructor`, `toString`) are data.
 */
export function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0) return {};
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new BodyParseError('The body is not valid UTF-8.');
  }
  if (!text.isWellFormed()) throw new BodyParseError('The body contains an unpaired surrogate.');
  checkShape(text);
  let value: unknown;
  try {
    value = sjson.parse(text, undefined, { protoAction: 'error', constructorAction: 'ignore' });
  } catch (error) {
    const proto = error instanceof SyntaxError && /prototype/i.test(error.message);
    throw new BodyParseError(
      proto ? 'The body uses the forbidden key __proto__.' : 'The body is not valid JSON.',
    );
  }
  if (SURROGATE_ESCAPE.test(text) && !wellFormedDeep(value)) {
    throw new BodyParseError('The body contains an unpaired surrogate.');
  }
  return value;
}

/** An object or array open at some point of {@link checkShape}'s scan. */
interface Container {
  object: boolean;
  /** Members (objects) or items (arrays) so far. */
  members: number;
  /** Where the current member's key string starts and ends (objects), for naming a field. */
  keyStart: number;
  keyEnd: number;
}

/**
 * One linear pass over the text (outside strings): nesting depth, and members per object. Wide
 * objects are refused here because validating one costs quadratic time in class-transformer; no
 * valid body comes near the limit (`parameters` is at most 16 KiB). The error names the field the
 * offending value is in, like every other validation error (`parameters`, `items.3.parameters`).
 */
function checkShape(text: string): void {
  const containers: Container[] = [];
  let inString = false;
  let stringStart = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 92 /* \ */) i++;
      else if (ch === 34 /* " */) {
        inString = false;
        if (expectKey) {
          const top = containers[containers.length - 1];
          top.keyStart = stringStart;
          top.keyEnd = i + 1;
          expectKey = false;
        }
      }
    } else if (ch === 34) {
      inString = true;
      stringStart = i;
    } else if (ch === 123 /* { */ || ch === 91 /* [ */) {
      containers.push({ object: ch === 123, members: 1, keyStart: 0, keyEnd: 0 });
      expectKey = ch === 123;
      if (containers.length > MAX_BODY_DEPTH) {
        throw new BodyParseError(
          `${fieldOf(text, containers)} nests deeper than ${MAX_BODY_DEPTH} levels`,
        );
      }
    } else if (ch === 125 || ch === 93) {
      containers.pop();
      expectKey = false;
    } else if (ch === 44 /* , */) {
      const top = containers[containers.length - 1];
      if (top === undefined) continue;
      top.members++;
      expectKey = top.object;
      if (top.object && top.members > MAX_OBJECT_MEMBERS) {
        throw new BodyParseError(
          `${fieldOf(text, containers)} has more than ${MAX_OBJECT_MEMBERS} members`,
        );
      }
    }
  }
}

/**
 * The field that the innermost container (the last one) is in, from the keys and indexes of the
 * containers around it: everything inside `parameters` is `parameters` (or `items.3.parameters`);
 * elsewhere the top-level field, with the item and its field for a list (`items.3.modelId`).
 */
function fieldOf(text: string, containers: Container[]): string {
  const path: string[] = [];
  for (let c = 0; c < containers.length - 1; c++) {
    const container = containers[c];
    path.push(container.object ? keyText(text, container) : String(container.members - 1));
  }
  const parameters = path.indexOf('parameters');
  if (parameters >= 0) return path.slice(0, parameters + 1).join('.');
  if (path.length === 0) return 'body';
  return (/^\d+$/.test(path[1] ?? '') ? path.slice(0, 3) : path.slice(0, 1)).join('.');
}

function keyText(text: string, { keyStart, keyEnd }: Container): string {
  const raw = text.slice(keyStart, keyEnd);
  try {
    return JSON.parse(raw) as string;
  } catch {
    return raw;
  }
}

function wellFormedDeep(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (typeof item === 'string') {
      if (!item.isWellFormed()) return false;
    } else if (Array.isArray(item)) stack.push(...item);
    else if (item !== null && typeof item === 'object') {
      for (const [key, inner] of Object.entries(item)) {
        if (!key.isWellFormed()) return false;
        stack.push(inner);
      }
    }
  }
  return true;
}
