import { Controller, Get, Headers, Inject, Param, Query, Req, Res } from '@nestjs/common';
import {
  ApiHeader,
  ApiOkResponse,
  ApiProduces,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { LONG_LIVED_ROUTE } from '@lib/observability';
import { API_PREFIX } from '../common/api-docs';
import { ApiError } from '../common/api-error';
import { ApiKeyGuard } from '../common/api-key.guard';
import { APP_CONFIG } from '../config/config.constants';
import type { AppConfig } from '../config/app-config';
import { UsageTypeParams } from '../model-configs/dto/params.dto';
import type { ChangeEvent } from './change-event';
import { ChangeLog } from './change-log';
import { EventLogQuery, StreamQuery } from './events.dto';
import { EventStreamHub } from './event-stream.hub';

const LAST_EVENT_ID = /^\d{1,15}$/;

/** The change stream (API.md §2, Change stream): live Server-Sent Events and the event log. */
@ApiTags('events')
@Controller(API_PREFIX)
export class EventsController {
  private readonly keys: ApiKeyGuard;

  constructor(
    private readonly hub: EventStreamHub,
    private readonly changeLog: ChangeLog,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.keys = new ApiKeyGuard(config.apiKeys);
  }

  @Get('events')
  @RouteConfig({ [LONG_LIVED_ROUTE]: true })
  @ApiProduces('text/event-stream')
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'Resume after this id' })
  @ApiOkResponse({ description: 'Server-Sent Events: change, ready, reset; a heartbeat comment' })
  @ApiServiceUnavailableResponse({ description: 'STREAM_LIMIT: too many open streams' })
  all(
    @Query() query: StreamQuery,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    return this.stream(request, reply, resumeFrom(query, lastEventId));
  }

  @Get('usage-types/:usageType/events')
  @RouteConfig({ [LONG_LIVED_ROUTE]: true })
  @ApiProduces('text/event-stream')
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'Resume after this id' })
  @ApiOkResponse({ description: 'Server-Sent Events of changes that touch this usage type' })
  @ApiServiceUnavailableResponse({ description: 'STREAM_LIMIT: too many open streams' })
  ofUsageType(
    @Param() { usageType }: UsageTypeParams,
    @Query() query: StreamQuery,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    return this.stream(request, reply, resumeFrom(query, lastEventId), usageType);
  }

  @Get('events/log')
  @ApiOkResponse({
    description:
      '{events, lastEventId, reset}: events after `since`, oldest first; `reset` true when some ' +
      'were pruned (fetch the state again)',
  })
  async log(
    @Query() query: EventLogQuery,
    @Req() request: FastifyRequest,
  ): Promise<{ events: ChangeEvent[]; lastEventId: number; reset: boolean }> {
    if (this.config.events.requireKey) this.keys.authorize(request);
    const page = await this.changeLog.since(query.since ?? 0, query.limit ?? 100, query.usageType);
    return { events: page.events, lastEventId: page.head, reset: page.reset };
  }

  private async stream(
    request: FastifyRequest,
    reply: FastifyReply,
    since: number | undefined,
    usageType?: string,
  ): Promise<void> {
    if (this.config.events.requireKey) this.keys.authorize(request);
    if (this.hub.full) {
      throw new ApiError(503, 'STREAM_LIMIT', 'Too many open change streams; retry later.');
    }
    reply.hijack();
    // Headers set by earlier hooks (request id, nosniff) go out with the stream's own.
    for (const [name, value] of Object.entries(reply.getHeaders())) {
      if (value !== undefined) reply.raw.setHeader(name, value);
    }
    await this.hub.open(reply.raw, since, usageType);
  }
}

/** `Last-Event-ID` wins over `?since=`; neither: from now on. */
function resumeFrom(query: StreamQuery, lastEventId: string | undefined): number | undefined {
  if (lastEventId !== undefined && lastEventId.trim() !== '') {
    if (!LAST_EVENT_ID.test(lastEventId.trim())) {
      throw ApiError.validation(['Last-Event-ID must be an event id (a decimal integer)']);
    }
    return Number(lastEventId.trim());
  }
  return query.since;
}
