import { Body, Controller, Headers, HttpCode, Param, Post, Put, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import {
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiPreconditionFailedResponse,
  ApiTags,
} from '@nestjs/swagger';
import { API_PREFIX, ApiIfMatch, ApiWrite } from '../common/api-docs';
import { parseIfMatch } from '../common/if-match';
import { RestoreAtQuery } from '../history/history.dto';
import { RestoreService } from './restore.service';
import { ReplaceChainDto } from './dto/model-config.dto';
import { UsageTypeParams } from './dto/params.dto';
import type { ModelConfig } from './model-config.types';
import { ModelConfigsService } from './model-configs.service';

/**
 * `PUT /usage-types/:usageType/chain` and `POST /usage-types/:usageType/restore` (API.md §2): the
 * writes under `/usage-types`. It lives on
 * the write side, beside {@link ModelConfigsService} that performs it; the reads under the same
 * path belong to `UsageTypesModule`.
 */
@ApiTags('usage-types')
@Controller(`${API_PREFIX}/usage-types`)
export class UsageTypeChainController {
  constructor(
    private readonly service: ModelConfigsService,
    private readonly restorer: RestoreService,
  ) {}

  /** Replaces the usage type's configs, atomically, with `items` at priorities 1..n. */
  @Put(':usageType/chain')
  @ApiWrite()
  // The operationId the route was published with, which generated clients name their method after.
  @ApiOperation({ operationId: 'UsageTypesController_replaceChain', summary: undefined })
  @ApiOkResponse({ description: '{usageType, items}: replaced atomically, priorities 1..n' })
  @ApiIfMatch()
  @ApiPreconditionFailedResponse({ description: 'VERSION_MISMATCH: the chain changed since' })
  async replaceChain(
    @Param() { usageType }: UsageTypeParams,
    @Body() dto: ReplaceChainDto,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<{ usageType: string; items: ModelConfig[] }> {
    const { items, version } = await this.service.replaceChain(
      usageType,
      dto.items,
      parseIfMatch(ifMatch),
    );
    // The chain's new version (its history's newest seq), for the next If-Match.
    void reply.header('etag', `"${version}"`);
    return { usageType, items };
  }

  /** Puts the usage type's chain back as it was at `at`, atomically, as new versions. */
  @Post(':usageType/restore')
  @HttpCode(200)
  @ApiWrite()
  @ApiIfMatch()
  @ApiOkResponse({ description: '{usageType, items}: the chain as it was at `at`' })
  @ApiNotFoundResponse({ description: 'NOT_FOUND: no history of the usage type at that time' })
  @ApiPreconditionFailedResponse({ description: 'VERSION_MISMATCH: the chain changed since' })
  async restore(
    @Param() { usageType }: UsageTypeParams,
    @Query() { at }: RestoreAtQuery,
    @Headers('if-match') ifMatch: string | undefined,
  ): Promise<{ usageType: string; items: ModelConfig[] }> {
    const items = await this.restorer.restoreChain(usageType, new Date(at), parseIfMatch(ifMatch));
    return { usageType, items };
  }
}
