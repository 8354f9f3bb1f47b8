import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
  SetMetadata,
  UseInterceptors,
  applyDecorators,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Observable, lastValueFrom, toArray } from 'rxjs';
import { ResiliencePolicies } from './resilience-policies';
import { RESILIENCE_INTERCEPTOR_OPTIONS } from './resilience.constants';
import type { RetryOptions } from './resilience.interfaces';

const APPLIED = Symbol('resilience interceptor applied');

/** What {@link ResilienceInterceptor} applies to a handler. */
export interface ResilienceHandlerOptions {
  /** Circuit breaker name. */
  circuit?: string;
  /** Retry (its budget is the `circuit`'s, or the handler's). */
  retry?: RetryOptions;
  /** Deadline in ms. */
  timeoutMs?: number;
}

/**
 * Applies a circuit breaker, retries and a timeout to controller handlers, as configured by
 * {@link UseResilience}: retry outermost, then the breaker, then the timeout around each attempt.
 */
@Injectable()
export class ResilienceInterceptor implements NestInterceptor {
  constructor(
    private readonly policies: ResiliencePolicies,
    private readonly reflector: Reflector,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    // On a controller and one of its handlers, Nest would run this twice: apply it once.
    const request = context.switchToHttp().getRequest<Record<symbol, boolean>>();
    if (request[APPLIED]) return next.handle();
    request[APPLIED] = true;
    const options =
      this.reflector.getAllAndOverride<ResilienceHandlerOptions | undefined>(
        RESILIENCE_INTERCEPTOR_OPTIONS,
        [context.getHandler(), context.getClass()],
      ) ?? {};
    const name = options.circuit ?? `${context.getClass().name}.${context.getHandler().name}`;
    let attempt = (): Promise<unknown[]> => lastValueFrom(next.handle().pipe(toArray()));
    if (options.timeoutMs !== undefined) {
      const inner = attempt;
      attempt = () => this.policies.timeout(options.timeoutMs as number, inner);
    }
    if (options.circuit !== undefined) {
      const inner = attempt;
      attempt = () => this.policies.get(name).execute(inner);
    }
    if (options.retry !== undefined) {
      const inner = attempt;
      attempt = () => this.policies.retry(name, options.retry).execute(inner);
    }
    return new Observable<unknown>((subscriber) => {
      attempt().then(
        (values) => {
          for (const value of values) subscriber.next(value);
          subscriber.complete();
        },
        (error: unknown) => subscriber.error(error),
      );
    });
  }
}

/**
 * `@UseInterceptors(ResilienceInterceptor)` with its options, on a handler or a controller.
 *
 * @example \@UseResilience({ circuit: 'database', retry: { maxRetries: 2 }, timeoutMs: 2000 })
 */
export function UseResilience(options: ResilienceHandlerOptions): MethodDecorator & ClassDecorator {
  return applyDecorators(
    SetMetadata(RESILIENCE_INTERCEPTOR_OPTIONS, options),
    UseInterceptors(ResilienceInterceptor),
  );
}
