/**
 * JSON text with what `JSON.stringify` cannot write: raw number tokens (`1e400`, 30-digit
 * integers), keys in a given order with duplicates, and own `__proto__` keys.
 */

/** A raw JSON token written verbatim (e.g. `1e400`). */
export class RawToken {
  constructor(readonly text: string) {}
  toString(): string {
    return `raw(${this.text})`;
  }
}

/** An object written as exactly these members, in this order (duplicates and `__proto__` kept). */
export class Members {
  constructor(readonly entries: [string, unknown][]) {}
  toString(): string {
    return `{${this.entries.map(([k, v]) => `${JSON.stringify(k)}: ${String(v)}`).join(', ')}}`;
  }
}

/** Writes `node` as JSON text. `undefined` members are left out, like `JSON.stringify`. */
export function toJsonText(node: unknown): string {
  if (node instanceof RawToken) return node.text;
  if (node instanceof Members) {
    const parts = node.entries
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => `${JSON.stringify(key)}:${toJsonText(value)}`);
    return `{${parts.join(',')}}`;
  }
  if (Array.isArray(node)) return `[${node.map((item) => toJsonText(item ?? null)).join(',')}]`;
  if (node !== null && typeof node === 'object') {
    // Own keys only, `__proto__` included (an own property when built by JSON.parse).
    const parts = Object.keys(node)
      .filter((key) => (node as Record<string, unknown>)[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${toJsonText((node as Record<string, unknown>)[key])}`);
    return `{${parts.join(',')}}`;
  }
  if (typeof node === 'number' && !Number.isFinite(node)) return 'null';
  return JSON.stringify(node) ?? 'null';
}

/** An object whose own keys are exactly `entries` (a `__proto__` key becomes an own property). */
export function ownObject(entries: [string, unknown][]): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const [key, value] of entries) {
    Object.defineProperty(object, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return object;
}

/** Nesting depth of a JSON value (a scalar is 0, `{}` is 1). */
export function depthOf(value: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop() as [unknown, number];
    if (item !== null && typeof item === 'object') {
      max = Math.max(max, depth + 1);
      for (const inner of Object.values(item)) stack.push([inner, depth + 1]);
    }
  }
  return max;
}

/** Every key of every object inside `value`. */
export function keysDeep(value: unknown): string[] {
  const keys: string[] = [];
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (item !== null && typeof item === 'object') {
      if (!Array.isArray(item)) keys.push(...Object.keys(item));
      stack.push(...Object.values(item));
    }
  }
  return keys;
}

/** True when every string (and key) inside `value` is well-formed UTF-16. */
export function wellFormedDeep(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (typeof item === 'string') {
      if (!item.isWellFormed()) return false;
    } else if (item !== null && typeof item === 'object') {
      for (const key of Object.keys(item)) if (!key.isWellFormed()) return false;
      stack.push(...Object.values(item));
    }
  }
  return true;
}
