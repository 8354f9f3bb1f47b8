import { Controller, Get, Param } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { CacheResponse } from '@lib/query-cache';
import { API_PREFIX } from '../common/api-docs';
import { ProviderParams } from '../model-configs/dto/params.dto';
import { UsageTypesService } from './usage-types.service';

/** Models by provider (API.md §2): a read of the same side as {@link UsageTypesService}. */
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
