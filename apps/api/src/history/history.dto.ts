import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsDateString, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { IdParams } from '../model-configs/dto/params.dto';
import { toInteger } from '../model-configs/dto/validators';

/** Query of the history routes: a page size and the cursor of the previous page. */
export class HistoryQuery {
  @ApiPropertyOptional({ default: 50, minimum: 1, maximum: 500 })
  @IsOptional()
  @Transform(toInteger)
  @Max(500)
  @Min(1)
  @IsInt({ message: 'limit must be a decimal integer from 1 to 500' })
  limit?: number;

  @ApiPropertyOptional({ description: "The previous page's nextCursor" })
  @IsOptional()
  @Matches(/^[1-9]\d{0,15}$/, { message: 'cursor must be a nextCursor of this API' })
  @IsString()
  cursor?: string;
}

/** `:version` of `POST /model-configs/:id/restore/:version`. */
export class RestoreVersionParams extends IdParams {
  @ApiProperty({ minimum: 1 })
  @Transform(toInteger)
  @Min(1)
  @IsInt({ message: 'version must be a decimal integer ≥ 1' })
  version!: number;
}

/** Query of `POST /usage-types/:usageType/restore`. */
export class RestoreAtQuery {
  @ApiProperty({ example: '2026-12-01T12:00:00Z', description: 'An ISO 8601 time' })
  @IsDateString({ strict: true }, { message: 'at must be an ISO 8601 date and time' })
  at!: string;
}
