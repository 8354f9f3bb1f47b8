import { Module } from '@nestjs/common';
import { ModelConfigsModule } from '../model-configs/model-configs.module';
import { ConfigAsCodeController } from './config-as-code.controller';
import { ConfigAsCodeService } from './config-as-code.service';
import { YamlBodyParserRegistration } from './yaml-body.parser';

/**
 * Configuration as code: `GET /config/export` and `POST /config/import` (JSON or YAML), on the
 * ModelConfig repository's reads and writes.
 */
@Module({
  imports: [ModelConfigsModule],
  controllers: [ConfigAsCodeController],
  providers: [ConfigAsCodeService, YamlBodyParserRegistration],
})
export class ConfigAsCodeModule {}
