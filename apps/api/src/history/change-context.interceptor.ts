import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { Observable } from 'rxjs';
import { actorOf } from '../common/api-key.guard';
import { runAsActor } from './change-context';

/**
 * Runs every HTTP write's handler in a change context naming its actor (the label of the API key
 * the guard accepted, or null when no key is configured) and its request id, which the history
 * rows of its changes record.
 */
@Injectable()
export class ChangeContextInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    if (request.method === 'GET' || request.method === 'HEAD') return next.handle();
    const actor = actorOf(request) ?? null;
    const requestId = typeof request.id === 'string' ? request.id : String(request.id);
    // The handler runs when the stream is subscribed: subscribe inside the context.
    return new Observable((subscriber) =>
      runAsActor(actor, requestId, () => next.handle().subscribe(subscriber)),
    );
  }
}
