import {
  type ValidationArguments,
  type ValidationOptions,
  ValidateIf,
  registerDecorator,
} from 'class-validator';

/** `usageType` and `provider`: 1..64 chars, `^[a-z0-9][a-z0-9_.-]*$`. */
export const SLUG = /^[a-z0-9][a-z0-9_.-]*$/;
/** Any string without control characters. */
export const NO_CONTROL_CHARS = /^[^\p{Cc}]*$/u;
/** Serialized size limit of `parameters`. */
export const PARAMETERS_MAX_BYTES = 16 * 1024;
/** Nesting limit of values inside `parameters`. */
export const PARAMETERS_MAX_DEPTH = 32;

function depthOf(value: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop() as [unknown, number];
    if (item !== null && typeof item === 'object') {
      if (depth + 1 > max) max = depth + 1;
      for (const inner of Object.values(item)) stack.push([inner, depth + 1]);
    }
  }
  return max;
}

/**
 * A plain JSON object (not an array or null) of at most {@link PARAMETERS_MAX_BYTES} serialized
 * and {@link PARAMETERS_MAX_DEPTH} levels.
 */
export function IsParameters(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isParameters',
      target: target.constructor,
      propertyName: propertyName as string,
      options,
      validator: {
        validate(value: unknown) {
          if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
          if (depthOf(value) > PARAMETERS_MAX_DEPTH) return false;
          return Buffer.byteLength(JSON.stringify(value)) <= PARAMETERS_MAX_BYTES;
        },
        defaultMessage(args: ValidationArguments) {
          return `${args.property} must be a JSON object of at most ${PARAMETERS_MAX_BYTES} bytes and ${PARAMETERS_MAX_DEPTH} levels`;
        },
      },
    });
}

/**
 * Like `@IsOptional()`, but only an absent field (`undefined`) skips validation: an explicit
 * `null` is validated, and refused, like any other wrong value.
 */
export function IsOmittable(): PropertyDecorator {
  return ValidateIf((object: object, value: unknown) => value !== undefined);
}

/** Turns a decimal-integer string into a number; anything else is left for validation to refuse. */
export function toInteger({ value }: { value: unknown }): unknown {
  return typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : value;
}

/** Turns `'true'`/`'false'` into booleans; anything else is left for validation to refuse. */
export function toBoolean({ value }: { value: unknown }): unknown {
  if (value === 'true') return true;
  if (value === 'false') return false;
  return value;
}
