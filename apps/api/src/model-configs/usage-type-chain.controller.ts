import { Body, Controller, Param, Put } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { API_PREFIX, ApiWrite } from '../common/api-docs';
import { ReplaceChainDto } from './dto/model-config.dto';
import { UsageTypeParams } from './dto/params.dto';
import type { ModelConfig } from './model-config.types';
import { ModelConfigsService } from './model-configs.service';

/**
 * `PUT /usage-types/:usageType/chain` (API.md §2): the one write under `/usage-types`. It lives on
 * the write side, beside {@link ModelConfigsService} that performs it; the reads under the same
 * path belong to `UsageTypesModule`.
 */
@ApiTags('usage-types')
@Controller(`${API_PREFIX}/usage-types`)
export class UsageTypeChainController {
  constructor(private readonly service: ModelConfigsService) {}

  /** Replaces the usage type's configs, atomically, with `items` at priorities 1..n. */
  @Put(':usageType/chain')
  @ApiWrite()
  // The operationId the route was published with, which generated clients name their method after.
  @ApiOperation({ operationId: 'UsageTypesController_replaceChain', summary: undefined })
  @ApiOkResponse({ description: '{usageType, items}: replaced atomically, priorities 1..n' })
  async replaceChain(
    @Param() { usageType }: UsageTypeParams,
    @Body() dto: ReplaceChainDto,
  ): Promise<{ usageType: string; items: ModelConfig[] }> {
    return { usageType, items: await this.service.replaceChain(usageType, dto.items) };
  }
}
