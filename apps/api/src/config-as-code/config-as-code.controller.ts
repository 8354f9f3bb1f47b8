import { Body, Controller, Get, HttpCode, Post, Query, Res } from '@nestjs/common';
import {
  ApiBody,
  ApiConsumes,
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiPayloadTooLargeResponse,
  ApiProduces,
  ApiTags,
  ApiUnsupportedMediaTypeResponse,
  getSchemaPath,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiWrite } from '../common/api-docs';
import { CONFIG_PATH } from './config-as-code.constants';
import {
  ExportQuery,
  DocumentItemSchema,
  ImportPlanSchema,
  ImportQuery,
} from './config-as-code.dto';
import { ConfigAsCodeService } from './config-as-code.service';
import { parseConfigDocument } from './config-document';
import { EXPORT_CONTENT_TYPES, renderDocument } from './config-export';
import type { ImportPlan } from './config-plan';
import { YAML_MEDIA_TYPES } from './yaml-body.parser';

/** The document both routes speak, for the OpenAPI document. */
const DOCUMENT_SCHEMA = {
  type: 'object',
  required: ['usageTypes'],
  additionalProperties: false,
  properties: {
    usageTypes: {
      type: 'object',
      description: 'Usage type → its configs (each priority once)',
      additionalProperties: { type: 'array', items: { $ref: getSchemaPath(DocumentItemSchema) } },
    },
  },
};

/** Configuration as code (API.md §2): export every config as a document, import one. */
@ApiTags('config')
@ApiExtraModels(DocumentItemSchema)
@Controller(CONFIG_PATH)
export class ConfigAsCodeController {
  constructor(private readonly service: ConfigAsCodeService) {}

  /** Every config without server fields, in a stable order: two exports of one state are equal. */
  @Get('export')
  @ApiOperation({ summary: 'Export every config as a JSON or YAML document' })
  @ApiProduces('application/json', 'application/yaml')
  @ApiOkResponse({
    description:
      '{ usageTypes: { "<usageType>": [item, …] } }: usage types by code point, items by priority',
    schema: DOCUMENT_SCHEMA,
  })
  async export(
    @Query() { format = 'json' }: ExportQuery,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<string> {
    const document = await this.service.exportDocument();
    void reply.type(EXPORT_CONTENT_TYPES[format]);
    return renderDocument(document, format);
  }

  /** Plans (dryRun) or applies, in one transaction, a document; deletes only with prune. */
  @Post('import')
  @HttpCode(200)
  @ApiWrite()
  @ApiOperation({
    summary: 'Import a JSON or YAML document: a dry-run plan, or the plan applied atomically',
  })
  @ApiConsumes('application/json', ...YAML_MEDIA_TYPES)
  @ApiBody({ schema: DOCUMENT_SCHEMA })
  @ApiOkResponse({
    description: 'The plan, per (usageType, priority) slot',
    type: ImportPlanSchema,
  })
  @ApiPayloadTooLargeResponse({ description: 'PAYLOAD_TOO_LARGE: a document over 1 MiB' })
  @ApiUnsupportedMediaTypeResponse({ description: 'UNSUPPORTED_MEDIA_TYPE: neither JSON nor YAML' })
  async import(@Query() query: ImportQuery, @Body() body: unknown): Promise<ImportPlan> {
    const document = parseConfigDocument(body);
    const prune = query.prune ?? false;
    return query.dryRun
      ? this.service.planOnly(document, prune)
      : this.service.apply(document, prune);
  }
}
