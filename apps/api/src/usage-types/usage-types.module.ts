import { Module } from '@nestjs/common';
import { ModelConfigsModule } from '../model-configs/model-configs.module';
import { ProvidersController } from './providers.controller';
import { UsageTypesController } from './usage-types.controller';
import { UsageTypesService } from './usage-types.service';

/**
 * The read side by usage type and provider: summaries, active model, fallback chain, model
 * validation and provider models. It reads through the `ModelConfigsRepository` that
 * {@link ModelConfigsModule} exports and knows nothing of the write side's controllers or service.
 */
@Module({
  imports: [ModelConfigsModule],
  controllers: [UsageTypesController, ProvidersController],
  providers: [UsageTypesService],
})
export class UsageTypesModule {}
