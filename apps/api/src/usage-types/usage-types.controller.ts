import { Body, Controller, Get, Param, Put, Res } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { CacheResponse } from '@lib/query-cache';
import type { FastifyReply } from 'fastify';
import { API_PREFIX, ApiWrite } from '../common/api-docs';
import { ReplaceChainDto } from '../model-configs/dto/model-config.dto';
import {
  ProviderParams,
  UsageTypeModelParams,
  UsageTypeParams,
} from '../model-configs/dto/params.dto';
import { withEtag } from '../model-configs/model-configs.controller';
import { ModelConfigsService } from '../model-configs/model-configs.service';
import { UsageTypesService } from './usage-types.service';

/** Usage types: summaries, active model, fallback chain, model validation, chain replacement. */
@ApiTags('usage-types')
@Controller(`${API_PREFIX}/usage-types`)
export class UsageTypesController {
  constructor(
    private readonly usageTypes: UsageTypesService,
    private readonly modelConfigs: ModelConfigsService,
  ) {}

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

  @Put(':usageType/chain')
  @ApiWrite()
  @ApiOkResponse({ description: '{usageType, items}: replaced atomically, priorities 1..n' })
  async replaceChain(@Param() { usageType }: UsageTypeParams, @Body() dto: ReplaceChainDto) {
    return { usageType, items: await this.modelConfigs.replaceChain(usageType, dto.items) };
  }
}

/** Models by provider. */
@ApiTags('providers')
@Controller(`${API_PREFIX}/providers`)
export class ProvidersController {
  constructor(private readonly usageTypes: UsageTypesService) {}

  @CacheResponse()
  @Get(':provider/models')
  @ApiOkResponse({ description: '{provider, modelIds}: distinct, sorted, enabled only' })
  models(@Param() { provider }: ProviderParams) {
    return this.usageTypes.providerModels(provider);
  }
}
