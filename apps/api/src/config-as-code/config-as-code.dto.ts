import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsOptional } from 'class-validator';
import { toBoolean } from '../model-configs/dto/validators';
import type { ExportFormat } from './config-export';

/** Query of `GET /config/export`. */
export class ExportQuery {
  @ApiPropertyOptional({ enum: ['json', 'yaml'], default: 'json' })
  @IsOptional()
  @IsIn(['json', 'yaml'], { message: 'format must be json or yaml' })
  format?: ExportFormat;
}

/** Query of `POST /config/import`. */
export class ImportQuery {
  @ApiPropertyOptional({
    type: Boolean,
    default: false,
    description: 'true: answer the plan and write nothing',
  })
  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean({ message: 'dryRun must be true or false' })
  dryRun?: boolean;

  @ApiPropertyOptional({
    type: Boolean,
    default: false,
    description:
      'true: also delete every config whose (usageType, priority) slot the document lacks',
  })
  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean({ message: 'prune must be true or false' })
  prune?: boolean;
}

// The classes below only describe the document and the plan in the OpenAPI document; the routes
// validate and build them elsewhere (config-document.ts, config-plan.ts).

/** One config of a usage type in a configuration document. */
export class DocumentItemSchema {
  @ApiProperty({ minimum: 1, maximum: 1000, example: 1 })
  priority!: number;

  @ApiProperty({ minLength: 1, maxLength: 256, example: 'openrouter/auto' })
  modelId!: string;

  @ApiProperty({ minLength: 1, maxLength: 256, example: 'OpenRouter Auto' })
  modelName!: string;

  @ApiProperty({ pattern: '^[a-z0-9][a-z0-9_.-]*$', maxLength: 64, example: 'openrouter' })
  provider!: string;

  @ApiPropertyOptional({ default: true })
  enabled?: boolean;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, default: {} })
  parameters?: Record<string, unknown>;
}

/** The counts of a plan, by action. */
export class PlanSummarySchema {
  @ApiProperty() create!: number;
  @ApiProperty() update!: number;
  @ApiProperty() delete!: number;
  @ApiProperty() unchanged!: number;
}

/** One slot of a plan. */
export class PlanChangeSchema {
  @ApiProperty({ enum: ['create', 'update', 'delete', 'unchanged'] })
  action!: string;

  @ApiProperty({ example: 'chat_deep' })
  usageType!: string;

  @ApiProperty({ example: 1 })
  priority!: number;

  @ApiProperty({ example: 'openrouter/auto' })
  modelId!: string;

  @ApiPropertyOptional({
    type: 'object',
    description: 'Updates only: { "<field>": { "from": stored, "to": document } }',
    additionalProperties: {
      type: 'object',
      properties: { from: {}, to: {} },
    },
  })
  fields?: Record<string, { from: unknown; to: unknown }>;
}

/** The answer of `POST /config/import`. */
export class ImportPlanSchema {
  @ApiProperty() dryRun!: boolean;
  @ApiProperty() applied!: boolean;
  @ApiProperty({ type: PlanSummarySchema }) summary!: PlanSummarySchema;
  @ApiProperty({ type: [PlanChangeSchema] }) changes!: PlanChangeSchema[];
}
