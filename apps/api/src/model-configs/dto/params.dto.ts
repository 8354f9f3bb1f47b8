import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  IsBoolean,
  IsInt,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  Matches,
  Max,
  Min,
} from 'class-validator';
import { NO_CONTROL_CHARS, SLUG, toBoolean, toInteger } from './validators';

/** `:id` path parameter. */
export class IdParams {
  @ApiProperty({ format: 'uuid' })
  @IsUUID('4', { message: 'id must be a UUID' })
  id!: string;
}

/** `:usageType` path parameter. */
export class UsageTypeParams {
  @ApiProperty({ example: 'chat_deep' })
  @Matches(SLUG, { message: 'usageType must match ^[a-z0-9][a-z0-9_.-]*$' })
  @Length(1, 64)
  @IsString()
  usageType!: string;
}

/** `:usageType/:priority` path parameters. */
export class SlotParams extends UsageTypeParams {
  @ApiProperty({ example: 1, minimum: 1, maximum: 1000 })
  @Transform(toInteger)
  @Max(1000)
  @Min(1)
  @IsInt({ message: 'priority must be an integer from 1 to 1000' })
  priority!: number;
}

/** `:usageType/models/:modelId` path parameters. */
export class UsageTypeModelParams extends UsageTypeParams {
  @ApiProperty({ example: 'openrouter/auto' })
  @Matches(NO_CONTROL_CHARS, { message: 'modelId must not contain control characters' })
  @Length(1, 256)
  @IsString()
  modelId!: string;
}

/** `:provider` path parameter. */
export class ProviderParams {
  @ApiProperty({ example: 'ollama' })
  @Matches(SLUG, { message: 'provider must match ^[a-z0-9][a-z0-9_.-]*$' })
  @Length(1, 64)
  @IsString()
  provider!: string;
}

/** Query of `GET /model-configs`. */
export class ListModelConfigsQuery {
  @ApiPropertyOptional({ example: 'chat_deep' })
  @IsOptional()
  @Matches(SLUG, { message: 'usageType must match ^[a-z0-9][a-z0-9_.-]*$' })
  @Length(1, 64)
  @IsString()
  usageType?: string;

  @ApiPropertyOptional({ example: 'ollama' })
  @IsOptional()
  @Matches(SLUG, { message: 'provider must match ^[a-z0-9][a-z0-9_.-]*$' })
  @Length(1, 64)
  @IsString()
  provider?: string;

  @ApiPropertyOptional({ type: Boolean })
  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean({ message: 'enabled must be true or false' })
  enabled?: boolean;

  @ApiPropertyOptional({ default: 100, minimum: 1, maximum: 1000 })
  @IsOptional()
  @Transform(toInteger)
  @Max(1000)
  @Min(1)
  @IsInt({ message: 'limit must be a decimal integer from 1 to 1000' })
  limit?: number;

  @ApiPropertyOptional({ default: 0, minimum: 0 })
  @IsOptional()
  @Transform(toInteger)
  @Min(0)
  @IsInt({ message: 'offset must be a decimal integer ≥ 0' })
  offset?: number;
}
