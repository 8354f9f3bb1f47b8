import { type ArgumentsHost, Catch, type ExceptionFilter, Logger } from '@nestjs/common';
import type { DatabaseExceptionHandler } from '@lib/resilience';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { toErrorResponse } from './error-mapping';

/** The one global filter: every error leaves as the contract's error body (API.md §2, Errors). */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpError');

  /** `handler` classifies raw driver errors and describes database errors for the log. */
  constructor(private readonly handler?: DatabaseExceptionHandler) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const { status, body, headers } = toErrorResponse(
      exception,
      String(request.id),
      this.logger,
      this.handler,
    );
    if (reply.sent) return;
    void reply.status(status).headers(headers).type('application/json; charset=utf-8').send(body);
  }
}
