import {
  type Type,
  ValidationPipe,
  type ValidationError,
  type ValidationPipeOptions,
} from '@nestjs/common';
import { Exclude, classToPlain, plainToInstance } from 'class-transformer';
import type { ValidatorOptions } from 'class-validator';
import { ApiError } from './api-error';

/** Flattens nested validation errors into messages such as `items.3.priority must not be less than 1`. */
export function validationMessages(errors: ValidationError[], parent = ''): string[] {
  const messages: string[] = [];
  for (const error of errors) {
    const path = parent ? `${parent}.` : '';
    for (const message of Object.values(error.constraints ?? {})) {
      messages.push(`${path}${message}`);
    }
    if (error.children?.length) {
      messages.push(...validationMessages(error.children, `${path}${error.property}`));
    }
    if (messages.length >= 20) break;
  }
  return messages.slice(0, 20);
}

/** Keys of a request value that class-transformer could not carry, by the instance built from it. */
const droppedByInstance = new WeakMap<object, string[]>();

/** class-transformer, followed by {@link reconcile} on every instance it builds. */
const reconcilingTransformer: NonNullable<ValidationPipeOptions['transformerPackage']> = {
  plainToInstance<T>(cls: Type<T>, plain: unknown, options?: object): T | T[] {
    const instance = plainToInstance(cls, plain as object, options);
    if (isObject(instance)) droppedByInstance.set(instance, reconcile(plain, instance));
    return instance;
  },
  classToPlain: (object: unknown, options?: object) => classToPlain(object as object, options),
};

const isObject = (value: unknown): value is object => value !== null && typeof value === 'object';
/** A DTO instance (built by class-transformer), as opposed to a plain JSON value it carries. */
const isDto = (value: unknown): value is object =>
  isObject(value) && !Array.isArray(value) && Object.getPrototypeOf(value) !== Object.prototype;

/**
 * Walks a request value and the DTO instance built from it, side by side:
 * - a field marked {@link JsonData} (excluded from class-transformer) gets the parsed value, as is;
 * - a key that class-transformer skipped because the instance already has it as a method
 *   (`constructor`, `toString`, `valueOf`, … from `Object.prototype`), or `__proto__`, is returned
 *   as a path (`items.0.toString`), to be refused as an unknown field instead of vanishing.
 */
function reconcile(raw: unknown, instance: unknown, path = ''): string[] {
  const dropped: string[] = [];
  if (Array.isArray(raw) && Array.isArray(instance)) {
    raw.forEach((item, i) => dropped.push(...reconcile(item, instance[i], `${path}${i}.`)));
    return dropped;
  }
  if (!isObject(raw) || Array.isArray(raw) || !isDto(instance)) return dropped;
  const source = raw as Record<string, unknown>;
  const target = instance as Record<string, unknown>;
  for (const key of Object.keys(source)) {
    const value = target[key];
    if (!Object.hasOwn(target, key) && (key === '__proto__' || key in target)) {
      dropped.push(`${path}${key}`);
    } else if (value === undefined) {
      // Not carried (a JsonData field; declared class fields exist as own, undefined properties).
      target[key] = source[key];
    } else if (isDto(value) || Array.isArray(value)) {
      dropped.push(...reconcile(source[key], value, `${path}${key}.`));
    }
  }
  return dropped;
}

/**
 * Marks a DTO field as JSON data: the handler gets the value exactly as parsed. class-transformer
 * does not walk it (its copy would drop keys named like `Object.prototype` members, and fail on
 * a key `constructor` holding an object); validate it with class-validator as usual.
 */
export function JsonData(): PropertyDecorator {
  return Exclude({ toClassOnly: true });
}

/**
 * The global pipe. Unlike Nest's own it leaves data alone: Nest's deletes every `constructor` and
 * `prototype` key of a body at any depth (inside `parameters` too). Bodies come from
 * `parseJsonBody`, which refuses `__proto__`; every other key is a known field, refused as an
 * unknown one, or data stored verbatim.
 */
class DataPreservingValidationPipe extends ValidationPipe {
  protected override stripProtoKeys(): void {
    // Deliberately nothing: see the class comment.
  }

  protected override async validate(
    object: object,
    validatorOptions?: ValidatorOptions,
  ): Promise<ValidationError[]> {
    const errors = await super.validate(object, validatorOptions);
    const dropped = droppedByInstance.get(object) ?? [];
    return dropped.length === 0 ? errors : [...dropped.map(unknownField), ...errors];
  }
}

/** A validation error for an unknown field at `path`, shaped like class-validator's whitelist one. */
function unknownField(path: string): ValidationError {
  const segments = path.split('.');
  const property = segments.pop() as string;
  let error: ValidationError = {
    property,
    constraints: { whitelistValidation: `property ${property} should not exist` },
    children: [],
  };
  for (const parent of segments.reverse()) error = { property: parent, children: [error] };
  return error;
}

/** The global pipe: whitelist, forbid unknown fields, transform, and the contract's 400 body. */
export function createValidationPipe(): ValidationPipe {
  return new DataPreservingValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    // One message per field: the first check that fails. class-validator checks a property's
    // decorators bottom-up, so the type check (`@IsInt`, `@IsString`) goes nearest the property
    // and the checks of its value above it; otherwise `"abc"` is refused as "must not be greater
    // than 1000" and the number 5 as a name that "must not contain control characters".
    stopAtFirstError: true,
    transformerPackage: reconcilingTransformer,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => ApiError.validation(validationMessages(errors)),
  });
}
