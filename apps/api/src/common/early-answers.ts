import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { HttpMetrics, RequestLogger } from '@lib/observability';
import { type EarlyAnswer, ResponseCache } from '@lib/query-cache';
import { standardHeaders } from './http-hardening';

type Answerer = (request: IncomingMessage, response: ServerResponse, id: string) => boolean;

/**
 * Reads answered in the server's own request listener, before Fastify parses or routes them: the
 * response cache's hits (`ResponseCache.answerEarly`: a `GET` of a URL whose kept response is
 * still current). For such a request it does what this app's Fastify hooks would: the standard
 * headers (`X-Request-Id`, `nosniff`), the request's metrics and its completion log line. Everything else (misses, writes, bodies, a URL over the limit, which is
 * never kept) goes to Fastify untouched.
 *
 * Off until {@link enable}, never on with rate limiting (its hook must count every request), and
 * off again when the app starts closing, so that Fastify answers 503 to requests that arrive then.
 */
export class EarlyAnswers {
  private answerer: Answerer | undefined;

  /** Answers `request` when it can; false leaves it to Fastify. */
  answer(request: IncomingMessage, response: ServerResponse, id: string): boolean {
    return this.answerer !== undefined && this.answerer(request, response, id);
  }

  /** Turns early answers on for `app` (built, not yet listening), until it starts closing. */
  enable(app: NestFastifyApplication): void {
    const cache = app.get(ResponseCache, { strict: false });
    const metrics = app.get(HttpMetrics, { strict: false });
    const logger = app.get(RequestLogger, { strict: false });
    // One recorder per kept response (the answer object is the same for each of its answers).
    const recorders = new WeakMap<EarlyAnswer, (seconds: number) => void>();
    this.answerer = (request, response, id) => {
      const started = performance.now();
      const answer = cache.answerEarly(request, response, standardHeaders(id));
      if (!answer) return false;
      const elapsedMs = performance.now() - started;
      let record = recorders.get(answer);
      if (!record) {
        record = metrics.answeredRecorder('GET', answer.route, answer.statusCode);
        recorders.set(answer, record);
      }
      record(elapsedMs / 1000);
      logger.logAnswered(id, request, response, elapsedMs);
      return true;
    };
    app
      .getHttpAdapter()
      .getInstance()
      .addHook('preClose', (done) => {
        this.answerer = undefined;
        done();
      });
  }
}
