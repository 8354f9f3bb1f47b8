import { Module } from '@nestjs/common';
import { ProvidersController, UsageTypesController } from '../usage-types/usage-types.controller';
import { UsageTypesService } from '../usage-types/usage-types.service';
import { ModelConfigsController } from './model-configs.controller';
import { ModelConfigsRepository } from './model-configs.repository';
import { ModelConfigsService } from './model-configs.service';

/** The ModelConfig domain: its repository, write service, read service and controllers. */
@Module({
  controllers: [ModelConfigsController, UsageTypesController, ProvidersController],
  providers: [ModelConfigsRepository, ModelConfigsService, UsageTypesService],
})
export class ModelConfigsModule {}
