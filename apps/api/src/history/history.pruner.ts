import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { APP_CONFIG } from '../config/config.constants';
import type { AppConfig } from '../config/app-config';
import { ChangeLog } from '../events/change-log';
import { HistoryRepository } from './history.repository';

const DAY_MS = 86_400_000;
/** How often the retention is applied while the service runs. */
const PRUNE_EVERY_MS = 3_600_000;

/**
 * Applies `HISTORY_RETENTION_DAYS` at startup and every hour: history rows older than the
 * retention go, except the newest row of each live config, and so do older change events (never
 * the newest: the ids go on from it). Without the setting, history is kept forever.
 */
@Injectable()
export class HistoryPruner implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(HistoryPruner.name);
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly history: HistoryRepository,
    private readonly changeLog: ChangeLog,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.historyRetentionDays === undefined) return;
    await this.prune();
    this.timer = setInterval(() => void this.prune(), PRUNE_EVERY_MS).unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** Deletes what the retention no longer keeps; returns how many rows. */
  async prune(now = Date.now()): Promise<number> {
    const days = this.config.historyRetentionDays;
    if (days === undefined) return 0;
    try {
      const cutoff = new Date(now - days * DAY_MS);
      const pruned = await this.history.prune(cutoff);
      await this.changeLog.prune(cutoff);
      if (pruned > 0) this.logger.log(`Pruned ${pruned} history rows older than ${days} days`);
      return pruned;
    } catch (error) {
      this.logger.warn(`History pruning failed: ${String(error)}`);
      return 0;
    }
  }
}
