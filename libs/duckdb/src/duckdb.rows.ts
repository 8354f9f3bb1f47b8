import {
  type DuckDBMaterializedResult,
  DuckDBTypeId,
  JSDuckDBValueConverter,
} from '@duckdb/node-api';
import type { Row, SqlParam } from './duckdb.interfaces';

type Convert = (value: unknown) => unknown;

const identity: Convert = (value) => value;

/** BIGINT/HUGEINT: a number when exact, else a decimal string (JSON has no BigInt). */
const integer: Convert = (value) =>
  typeof value === 'bigint'
    ? value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)
      ? Number(value)
      : value.toString()
    : value;

const timestamp: Convert = (value) => (value instanceof Date ? value.toISOString() : value);

const json: Convert = (value) =>
  typeof value === 'string' ? (JSON.parse(value) as unknown) : value;

/** Converts whatever else JS conversion produced into something `JSON.stringify` accepts. */
const fallback: Convert = (value) => {
  if (typeof value === 'bigint') return integer(value);
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  // LIST, ARRAY, STRUCT, MAP, INTERVAL: convert what they contain.
  if (Array.isArray(value)) return value.map((item) => (item === null ? null : fallback(item)));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, item === null ? null : fallback(item)]),
    );
  }
  return value;
};

function converterFor(typeId: DuckDBTypeId, alias: string | undefined): Convert {
  if (alias === 'JSON') return json;
  switch (typeId) {
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.UHUGEINT:
    case DuckDBTypeId.BIGNUM:
      return integer;
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_TZ:
    case DuckDBTypeId.TIMESTAMP_MS:
    case DuckDBTypeId.TIMESTAMP_NS:
    case DuckDBTypeId.TIMESTAMP_S:
    case DuckDBTypeId.DATE:
      return timestamp;
    case DuckDBTypeId.VARCHAR:
    case DuckDBTypeId.BOOLEAN:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.DOUBLE:
    case DuckDBTypeId.FLOAT:
    case DuckDBTypeId.UUID:
      return identity;
    default:
      return fallback;
  }
}

/** Column names and converters of a result shape. */
interface Shape {
  names: string[];
  converters: Convert[];
}

/** Shapes by prepared statement: worked out once, not on every read (it costs ~10 µs). */
const shapes = new WeakMap<object, Shape>();

function shapeOf(result: DuckDBMaterializedResult): Shape {
  const names = result.deduplicatedColumnNames();
  const converters = names.map((_, i) => {
    const type = result.columnType(i);
    return converterFor(type.typeId, type.alias);
  });
  return { names, converters };
}

/** One row object from a row of JS values, through the shape's converters. */
function toRow<T>(source: readonly unknown[], { names, converters }: Shape): T {
  const row: Row = {};
  for (let c = 0; c < names.length; c++) {
    const value = source[c];
    const converted = value === null ? null : converters[c](value);
    // A column named `__proto__` is data: an assignment would set the row's prototype instead.
    if (names[c] === '__proto__') {
      Object.defineProperty(row, '__proto__', {
        value: converted,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else row[names[c]] = converted;
  }
  return row as T;
}

/**
 * Reads a materialized result (its chunks are already in memory, so this is synchronous) as
 * plain, JSON-safe row objects. `shapeKey` (the prepared statement) caches the column converters.
 */
export function readMaterialized<T = Row>(result: DuckDBMaterializedResult, shapeKey: object): T[] {
  let shape = shapes.get(shapeKey);
  if (!shape || shape.names.length !== result.columnCount) {
    shape = shapeOf(result);
    shapes.set(shapeKey, shape);
  }
  const out: T[] = [];
  for (let chunk = 0; chunk < result.chunkCount; chunk++) {
    for (const source of result.getChunk(chunk).convertRows(JSDuckDBValueConverter)) {
      out.push(toRow(source, shape));
    }
  }
  return out;
}

/** Converts statement parameters to values the driver binds (Dates as ISO-8601 strings). */
export function toDriverParams(
  params: readonly SqlParam[],
): (string | number | boolean | bigint | null)[] {
  return params.map((p) => (p instanceof Date ? p.toISOString() : p));
}
