import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { API_PREFIX } from '../common/api-docs';
import { ApiError } from '../common/api-error';
import { IdParams, UsageTypeParams } from '../model-configs/dto/params.dto';
import { HistoryQuery } from './history.dto';
import { HistoryRepository } from './history.repository';
import type { HistoryPage } from './history.types';

const DEFAULT_LIMIT = 50;

/** The change history of a config and of a usage type (API.md §2, History), newest first. */
@ApiTags('history')
@Controller(API_PREFIX)
export class HistoryController {
  constructor(private readonly history: HistoryRepository) {}

  @Get('model-configs/:id/history')
  @ApiOkResponse({ description: '{items, nextCursor}: the config’s changes, newest first' })
  @ApiNotFoundResponse({ description: 'NOT_FOUND: no history for this id' })
  async ofConfig(@Param() { id }: IdParams, @Query() query: HistoryQuery): Promise<HistoryPage> {
    const page = await this.history.page(
      { configId: id },
      query.limit ?? DEFAULT_LIMIT,
      cursorOf(query),
    );
    if (page.items.length === 0 && query.cursor === undefined) {
      throw ApiError.notFound('History of the config');
    }
    return page;
  }

  @Get('usage-types/:usageType/history')
  @ApiOkResponse({
    description:
      '{items, nextCursor}: changes of the usage type’s configs, newest first; the ETag is the ' +
      'newest seq, which POST /usage-types/:usageType/restore takes as If-Match',
  })
  async ofUsageType(
    @Param() { usageType }: UsageTypeParams,
    @Query() query: HistoryQuery,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<HistoryPage> {
    const page = await this.history.page(
      { usageType },
      query.limit ?? DEFAULT_LIMIT,
      cursorOf(query),
    );
    void reply.header('etag', `"${await this.history.latestSeq(usageType)}"`);
    return page;
  }
}

const cursorOf = (query: HistoryQuery): number | undefined =>
  query.cursor === undefined ? undefined : Number(query.cursor);
