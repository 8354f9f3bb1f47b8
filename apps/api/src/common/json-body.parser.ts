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
 * {@link MAX_BODY_DEPTH}, objects wider than {@link MAX_OBJECT_MEMBERS}, `__proto__`/`constructor.prototype` keys and malformed JSON are all 400s,
 * found in linear time before any object is built. An empty body reads as `{}`.
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
    value = sjson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (error) {
    const proto = error instanceof SyntaxError && /prototype/i.test(error.message);
    throw new BodyParseError(
      proto
        ? 'The body uses a forbidden key (__proto__ or constructor.prototype).'
        : 'The body is not valid JSON.',
    );
  }
  if (SURROGATE_ESCAPE.test(text) && !wellFormedDeep(value)) {
    throw new BodyParseError('The body contains an unpaired surrogate.');
  }
  return value;
}

/**
 * One linear pass over the text (outside strings): nesting depth, and members per object. Wide
 * objects are refused here because validating one costs quadratic time in class-transformer; no
 * valid body comes near the limit (`parameters` is at most 16 KiB).
 */
function checkShape(text: string): void {
  const containers: { object: boolean; members: number }[] = [];
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 92 /* \ */) i++;
      else if (ch === 34 /* " */) inString = false;
    } else if (ch === 34) inString = true;
    else if (ch === 123 /* { */ || ch === 91 /* [ */) {
      containers.push({ object: ch === 123, members: 1 });
      if (containers.length > MAX_BODY_DEPTH) {
        throw new BodyParseError(`The body nests deeper than ${MAX_BODY_DEPTH} levels.`);
      }
    } else if (ch === 125 || ch === 93) containers.pop();
    else if (ch === 44 /* , */) {
      const top = containers[containers.length - 1];
      if (top?.object && ++top.members > MAX_OBJECT_MEMBERS) {
        throw new BodyParseError(
          `An object in the body has more than ${MAX_OBJECT_MEMBERS} members.`,
        );
      }
    }
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
