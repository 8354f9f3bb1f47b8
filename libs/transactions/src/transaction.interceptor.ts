import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { TransactionOptions } from '@lib/duckdb';
import { TransactionManager } from './engine/transaction-manager';
import { Observable, lastValueFrom, toArray } from 'rxjs';
import { TRANSACTION_INTERCEPTOR_OPTIONS } from './transactions.constants';

/**
 * Runs a whole controller handler in one transaction. A plain or promised result is committed
 * before the response is sent; an Observable is committed when it completes (its values are
 * emitted after the commit) and rolled back when it errors.
 *
 * Options come from `@UseTransaction(options)` on the handler or its controller (which also
 * applies this interceptor); without it, the defaults.
 *
 * @example
 * \@UseInterceptors(TransactionInterceptor)
 * \@Put(':usageType/chain')
 * replace(…) { … }
 */
@Injectable()
export class TransactionInterceptor implements NestInterceptor {
  constructor(
    private readonly manager: TransactionManager,
    private readonly reflector: Reflector,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const options =
      this.reflector.getAllAndOverride<TransactionOptions | undefined>(
        TRANSACTION_INTERCEPTOR_OPTIONS,
        [context.getHandler(), context.getClass()],
      ) ?? {};
    return new Observable<unknown>((subscriber) => {
      this.manager
        // next.handle() must be called inside the scope: Nest binds the handler's async context there.
        .run(options, () => lastValueFrom(next.handle().pipe(toArray())))
        .then(
          (values) => {
            for (const value of values) subscriber.next(value);
            subscriber.complete();
          },
          (error: unknown) => subscriber.error(error),
        );
    });
  }
}
