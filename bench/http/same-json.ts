/** What two servers answered to one request. */
export interface Answer {
  status: number;
  text: string;
}

/** `GET origin + path` as status and text. */
export async function getAnswer(origin: string, path: string): Promise<Answer> {
  const response = await fetch(`${origin}${path}`);
  return { status: response.status, text: await response.text() };
}

/**
 * The first place where two JSON values differ (`$.items[3].modelName: "a" ≠ "b"`), or
 * undefined when they are equal. Object keys are compared as sets (their order is ignored);
 * array order counts. Keys in `ignore` are skipped at every depth.
 */
export function jsonDifference(
  a: unknown,
  b: unknown,
  ignore: ReadonlySet<string> = new Set(),
  path = '$',
): string | undefined {
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b)) return `${path}: array ≠ non-array`;
    if (a.length !== b.length) return `${path}: length ${a.length} ≠ ${b.length}`;
    for (let i = 0; i < a.length; i++) {
      const diff = jsonDifference(a[i], b[i], ignore, `${path}[${i}]`);
      if (diff) return diff;
    }
    return undefined;
  }
  if (isObject(a) && isObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const key of keys) {
      if (ignore.has(key)) continue;
      if (!(key in a) || !(key in b)) return `${path}.${key}: present on one side only`;
      const diff = jsonDifference(a[key], b[key], ignore, `${path}.${key}`);
      if (diff) return diff;
    }
    return undefined;
  }
  return Object.is(a, b) ? undefined : `${path}: ${JSON.stringify(a)} ≠ ${JSON.stringify(b)}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Throws, naming the route and the first difference, unless both answers are 200 with the same
 * JSON content (keys in `ignore` aside).
 */
export function assertSameJson(
  label: string,
  expected: { name: string; answer: Answer },
  actual: { name: string; answer: Answer },
  ignore: ReadonlySet<string> = new Set(),
): void {
  for (const side of [expected, actual]) {
    if (side.answer.status !== 200) {
      throw new Error(
        `${label}: ${side.name} answered ${side.answer.status}: ${side.answer.text.slice(0, 500)}`,
      );
    }
  }
  const diff = jsonDifference(
    JSON.parse(expected.answer.text),
    JSON.parse(actual.answer.text),
    ignore,
  );
  if (diff) {
    throw new Error(
      `${label}: ${expected.name} and ${actual.name} answer different JSON, at ${diff}`,
    );
  }
}
