import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module';
import { HistoryController } from './history.controller';
import { HistoryPruner } from './history.pruner';
import { HistoryRepository } from './history.repository';

/**
 * The change history of ModelConfigs: the table's repository (whose `record` the write side calls
 * inside each change's transaction), the read routes and the retention pruner.
 */
@Module({
  imports: [EventsModule],
  controllers: [HistoryController],
  providers: [HistoryRepository, HistoryPruner],
  exports: [HistoryRepository],
})
export class HistoryModule {}
