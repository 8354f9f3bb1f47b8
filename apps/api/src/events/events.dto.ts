import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';
import { SLUG, toInteger } from '../model-configs/dto/validators';

/** `?since=` of the streams: resume after this event id (as `Last-Event-ID` does). */
export class StreamQuery {
  @ApiPropertyOptional({ minimum: 0, description: 'Resume after this event id' })
  @IsOptional()
  @Transform(toInteger)
  @Min(0)
  @IsInt({ message: 'since must be a decimal integer ≥ 0' })
  since?: number;
}

/** Query of `GET /events/log`. */
export class EventLogQuery extends StreamQuery {
  @ApiPropertyOptional({ default: 100, minimum: 1, maximum: 1000 })
  @IsOptional()
  @Transform(toInteger)
  @Max(1000)
  @Min(1)
  @IsInt({ message: 'limit must be a decimal integer from 1 to 1000' })
  limit?: number;

  @ApiPropertyOptional({ example: 'chat_deep' })
  @IsOptional()
  @Matches(SLUG, { message: 'usageType must match ^[a-z0-9][a-z0-9_.-]*$' })
  @Length(1, 64)
  @IsString()
  usageType?: string;
}
