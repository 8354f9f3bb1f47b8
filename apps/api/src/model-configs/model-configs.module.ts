import { Module } from '@nestjs/common';
import { HistoryModule } from '../history/history.module';
import { ModelConfigsController } from './model-configs.controller';
import { ModelConfigsRepository } from './model-configs.repository';
import { ModelConfigsService } from './model-configs.service';
import { RestoreService } from './restore.service';
import { UsageTypeChainController } from './usage-type-chain.controller';

/**
 * The ModelConfig domain's write side: the repository, the write service and the controllers of
 * the writes (`/model-configs` and `PUT /usage-types/:usageType/chain`). Exports the repository,
 * which the read side (`UsageTypesModule`) queries.
 */
@Module({
  imports: [HistoryModule],
  controllers: [ModelConfigsController, UsageTypeChainController],
  providers: [ModelConfigsRepository, ModelConfigsService, RestoreService],
  exports: [ModelConfigsRepository],
})
export class ModelConfigsModule {}
