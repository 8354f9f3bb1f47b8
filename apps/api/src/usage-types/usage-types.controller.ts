import { Controller, Get, Param, Res } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { CacheResponse } from '@lib/query-cache';
import type { FastifyReply } from 'fastify';
import { API_PREFIX } from '../common/api-docs';
import { withEtag } from '../common/etag';
import { UsageTypeModelParams, UsageTypeParams } from '../model-configs/dto/params.dto';
import { UsageTypesService } from './usage-types.service';

/**
 * The reads by usage type (API.md §2): summaries, active model, fallback chain, model validation.
 * The one write under this path, `PUT …/chain`, is `UsageTypeChainController` on the write side.
 */
@ApiTags('usage-types')
@Controller(`${API_PREFIX}/usage-types`)
export class UsageTypesController {
  constructor(private readonly usageTypes: UsageTypesService) {}

  @CacheResponse()
  @Get()
  @ApiOkResponse({ description: '[{usageType, total, enabled, activeModelId}]' })
  list() {
    return this.usageTypes.summaries();
  }

  @CacheResponse()
  @Get(':usageType/active')
  @ApiOkResponse({ description: 'The active config: the enabled config with the lowest priority' })
  @ApiNotFoundResponse({ description: 'No enabled config' })
  async active(
    @Param() { usageType }: UsageTypeParams,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return withEtag(reply, await this.usageTypes.active(usageType));
  }

  @CacheResponse()
  @Get(':usageType/fallback-chain')
  @ApiOkResponse({ description: '{usageType, modelIds}: enabled, by priority' })
  @ApiNotFoundResponse({ description: 'The usage type has no config at all' })
  fallbackChain(@Param() { usageType }: UsageTypeParams) {
    return this.usageTypes.fallbackChain(usageType);
  }

  @CacheResponse()
  @Get(':usageType/models/:modelId')
  @ApiOkResponse({ description: '{valid: true, config}' })
  @ApiNotFoundResponse({ description: 'The standard error body plus valid: false' })
  validateModel(@Param() { usageType, modelId }: UsageTypeModelParams) {
    return this.usageTypes.validateModel(usageType, modelId);
  }
}
