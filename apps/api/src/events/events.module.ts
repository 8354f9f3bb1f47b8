import { Module } from '@nestjs/common';
import { ChangeLog } from './change-log';
import { EventStreamHub } from './event-stream.hub';
import { EventsController } from './events.controller';
import { RedisFanout } from './redis-fanout';

/**
 * The change stream: the change log (ids in commit order, appended after commit), the open
 * Server-Sent-Event streams, the event log route, and the Redis fan-out. Exports the change log,
 * which the history repository hands every change to.
 */
@Module({
  controllers: [EventsController],
  providers: [ChangeLog, EventStreamHub, RedisFanout],
  exports: [ChangeLog],
})
export class EventsModule {}
