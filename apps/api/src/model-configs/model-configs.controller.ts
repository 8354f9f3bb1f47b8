import {
  Body,
  Controller,
  Delete,
  Get,
  Headers,
  HttpCode,
  Param,
  Patch,
  Post,
  Put,
  Query,
  Res,
} from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiPreconditionFailedResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CacheResponse } from '@lib/query-cache';
import { API_PREFIX, ApiIfMatch, ApiWrite } from '../common/api-docs';
import { withEtag } from '../common/etag';
import { parseIfMatch } from '../common/if-match';
import {
  BulkCreateModelConfigsDto,
  CreateModelConfigDto,
  UpdateModelConfigDto,
  UpsertModelConfigDto,
} from './dto/model-config.dto';
import { IdParams, ListModelConfigsQuery, SlotParams } from './dto/params.dto';
import { ModelConfigsService } from './model-configs.service';
import { RestoreService } from './restore.service';
import { RestoreVersionParams } from '../history/history.dto';

/** CRUD, bulk, seed and reset of ModelConfigs (API.md §2). */
@ApiTags('model-configs')
@Controller(`${API_PREFIX}/model-configs`)
export class ModelConfigsController {
  constructor(
    private readonly service: ModelConfigsService,
    private readonly restorer: RestoreService,
  ) {}

  @CacheResponse()
  @Get()
  @ApiOkResponse({
    description: '{items, total, limit, offset}, ordered by usageType then priority',
  })
  async list(@Query() query: ListModelConfigsQuery) {
    const limit = query.limit ?? 100;
    const offset = query.offset ?? 0;
    const { items, total } = await this.service.list({ ...query, limit, offset });
    return { items, total, limit, offset };
  }

  @CacheResponse()
  @Get('grouped')
  @ApiOkResponse({
    description: '{ "<usageType>": [config, …] }, each list by priority, disabled included',
  })
  grouped() {
    return this.service.grouped();
  }

  @CacheResponse()
  @Get(':id')
  @ApiNotFoundResponse({ description: 'NOT_FOUND' })
  async get(@Param() { id }: IdParams, @Res({ passthrough: true }) reply: FastifyReply) {
    return withEtag(reply, await this.service.get(id));
  }

  @Post()
  @ApiWrite()
  @ApiCreatedResponse({ description: 'The created config; Location names it' })
  @ApiConflictResponse({ description: 'SLOT_TAKEN' })
  async create(@Body() dto: CreateModelConfigDto, @Res({ passthrough: true }) reply: FastifyReply) {
    const config = await this.service.create(dto);
    void reply.header('location', `/${API_PREFIX}/model-configs/${config.id}`);
    return withEtag(reply, config);
  }

  @Post('bulk')
  @ApiWrite()
  @ApiCreatedResponse({ description: '{created, items}; all or nothing' })
  @ApiConflictResponse({ description: 'SLOT_TAKEN: nothing was stored' })
  async bulk(@Body() dto: BulkCreateModelConfigsDto) {
    const items = await this.service.bulkCreate(dto.items);
    return { created: items.length, items };
  }

  @Post('seed')
  @HttpCode(200)
  @ApiWrite()
  @ApiOkResponse({ description: '{inserted}: defaults whose slot was free' })
  seed() {
    return this.service.seed();
  }

  @Post('reset')
  @HttpCode(200)
  @ApiWrite()
  @ApiOkResponse({
    description: '{deleted, inserted}: everything deleted and the defaults seeded, atomically',
  })
  reset() {
    return this.service.reset();
  }

  @Patch(':id')
  @ApiWrite()
  @ApiIfMatch()
  @ApiOkResponse({ description: 'The updated config, version + 1' })
  @ApiPreconditionFailedResponse({ description: 'VERSION_MISMATCH' })
  async update(
    @Param() { id }: IdParams,
    @Body() dto: UpdateModelConfigDto,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return withEtag(reply, await this.service.update(id, dto, parseIfMatch(ifMatch)));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiWrite()
  @ApiIfMatch()
  @ApiNoContentResponse()
  async remove(
    @Param() { id }: IdParams,
    @Headers('if-match') ifMatch: string | undefined,
  ): Promise<void> {
    await this.service.remove(id, parseIfMatch(ifMatch));
  }

  @Post(':id/restore/:version')
  @ApiWrite()
  @ApiIfMatch()
  @ApiOkResponse({ description: 'Restored: the old content as a new version (or unchanged)' })
  @ApiCreatedResponse({ description: 'A deleted config created again under its id' })
  @ApiNotFoundResponse({ description: 'NOT_FOUND: no such version in the history' })
  @ApiPreconditionFailedResponse({ description: 'VERSION_MISMATCH' })
  async restore(
    @Param() { id, version }: RestoreVersionParams,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const { created, config } = await this.restorer.restoreConfig(
      id,
      version,
      parseIfMatch(ifMatch),
    );
    void reply.code(created ? 201 : 200);
    return withEtag(reply, config);
  }

  @Put('by-slot/:usageType/:priority')
  @ApiWrite()
  @ApiIfMatch()
  @ApiCreatedResponse({ description: 'Created in an empty slot' })
  @ApiOkResponse({ description: 'Replaced: keeps id and createdAt, version + 1' })
  async upsert(
    @Param() { usageType, priority }: SlotParams,
    @Body() dto: UpsertModelConfigDto,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const { created, config } = await this.service.upsertSlot(
      usageType,
      priority,
      dto,
      parseIfMatch(ifMatch),
    );
    void reply.status(created ? 201 : 200);
    if (created) void reply.header('location', `/${API_PREFIX}/model-configs/${config.id}`);
    return withEtag(reply, config);
  }

  @Delete('by-slot/:usageType/:priority')
  @HttpCode(204)
  @ApiWrite()
  @ApiNoContentResponse()
  async removeSlot(@Param() { usageType, priority }: SlotParams): Promise<void> {
    await this.service.deleteSlot(usageType, priority);
  }
}
