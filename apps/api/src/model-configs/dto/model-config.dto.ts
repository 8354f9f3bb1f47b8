import {
  ApiProperty,
  ApiPropertyOptional,
  IntersectionType,
  OmitType,
  PartialType,
  PickType,
} from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsDefined,
  IsInt,
  IsObject,
  IsString,
  Length,
  Matches,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { JsonData } from '../../common/validation';
import { IsOmittable, IsParameters, NO_CONTROL_CHARS, SLUG } from './validators';

/** The body of `POST /model-configs` (and of `PUT …/by-slot`, where slot fields repeat the path). */
export class CreateModelConfigDto {
  @ApiProperty({ example: 'chat_deep', pattern: SLUG.source, minLength: 1, maxLength: 64 })
  @IsDefined()
  @Matches(SLUG, { message: 'usageType must match ^[a-z0-9][a-z0-9_.-]*$' })
  @Length(1, 64)
  @IsString()
  usageType!: string;

  @ApiProperty({ example: 1, minimum: 1, maximum: 1000 })
  @IsDefined()
  @Max(1000)
  @Min(1)
  @IsInt()
  priority!: number;

  @ApiProperty({ example: 'openrouter/auto', minLength: 1, maxLength: 256 })
  @IsDefined()
  @Matches(NO_CONTROL_CHARS, { message: 'modelId must not contain control characters' })
  @Length(1, 256)
  @IsString()
  modelId!: string;

  @ApiProperty({ example: 'OpenRouter Auto', minLength: 1, maxLength: 256 })
  @IsDefined()
  @Matches(NO_CONTROL_CHARS, { message: 'modelName must not contain control characters' })
  @Length(1, 256)
  @IsString()
  modelName!: string;

  @ApiProperty({ example: 'openrouter', pattern: SLUG.source, minLength: 1, maxLength: 64 })
  @IsDefined()
  @Matches(SLUG, { message: 'provider must match ^[a-z0-9][a-z0-9_.-]*$' })
  @Length(1, 64)
  @IsString()
  provider!: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    default: {},
    example: { temperature: 0.2 },
  })
  @JsonData()
  @IsOmittable()
  @IsParameters()
  parameters?: Record<string, unknown>;

  @ApiPropertyOptional({ default: true })
  @IsOmittable()
  @IsBoolean()
  enabled?: boolean;
}

/** The body of `PATCH /model-configs/:id`: any subset of the create fields. */
export class UpdateModelConfigDto extends PartialType(CreateModelConfigDto, {
  // An omitted field is left alone; an explicit null is a 400, never a NOT NULL violation.
  skipNullProperties: false,
}) {}

/**
 * The body of `PUT /model-configs/by-slot/:usageType/:priority`: the create body, where
 * `usageType` and `priority` may be left out (the path gives them) or repeat the path.
 */
export class UpsertModelConfigDto extends IntersectionType(
  OmitType(CreateModelConfigDto, ['usageType', 'priority'] as const),
  PartialType(PickType(CreateModelConfigDto, ['usageType', 'priority'] as const), {
    skipNullProperties: false,
  }),
) {}

/** The body of `POST /model-configs/bulk`. */
export class BulkCreateModelConfigsDto {
  @ApiProperty({ type: [CreateModelConfigDto], minItems: 1, maxItems: 1000 })
  @IsDefined()
  // Without it, an item that is itself an array would be validated element by element.
  @IsObject({ each: true })
  @ArrayMaxSize(1000)
  @ArrayMinSize(1)
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => CreateModelConfigDto)
  items!: CreateModelConfigDto[];
}

/** One link of a fallback chain in `PUT /usage-types/:usageType/chain`. */
export class ChainItemDto extends PickType(UpsertModelConfigDto, [
  'modelId',
  'modelName',
  'provider',
  'parameters',
  'enabled',
] as const) {}

/** The body of `PUT /usage-types/:usageType/chain`. */
export class ReplaceChainDto {
  @ApiProperty({ type: [ChainItemDto], minItems: 1, maxItems: 100 })
  @IsDefined()
  @IsObject({ each: true })
  @ArrayMaxSize(100)
  @ArrayMinSize(1)
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => ChainItemDto)
  items!: ChainItemDto[];
}
