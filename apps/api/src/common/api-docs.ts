import { applyDecorators } from '@nestjs/common';
import { ApiBadRequestResponse, ApiHeader, ApiSecurity } from '@nestjs/swagger';

/** The API prefix of every resource route (API.md §2). */
export const API_PREFIX = 'api/v1';

/** Documents a write: the API key and the 400 body. */
export function ApiWrite(): MethodDecorator {
  return applyDecorators(
    ApiSecurity('bearer'),
    ApiSecurity('api-key'),
    ApiBadRequestResponse({
      description: 'VALIDATION_FAILED: the message names each offending field',
    }),
  );
}

/** Documents `If-Match`. */
export function ApiIfMatch(): MethodDecorator {
  return applyDecorators(
    ApiHeader({
      name: 'If-Match',
      required: false,
      description: '"<version>", W/"<version>", <version> or *',
    }),
  );
}
