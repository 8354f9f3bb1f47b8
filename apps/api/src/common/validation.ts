import { ValidationPipe, type ValidationError } from '@nestjs/common';
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

/** The global pipe: whitelist, forbid unknown fields, transform, and the contract's 400 body. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    stopAtFirstError: true,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => ApiError.validation(validationMessages(errors)),
  });
}
