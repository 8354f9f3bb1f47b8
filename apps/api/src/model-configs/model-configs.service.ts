import { randomUUID } from 'node:crypto';
import { withoutUndefined } from '@lib/common';
import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { ConstraintViolationError, TransactionConflictError } from '@lib/duckdb';
import { Transactional } from '@lib/transactions';
import { ApiError } from '../common/api-error';
import { RecordedAs } from '../history/change-context';
import { HistoryRepository } from '../history/history.repository';
import { type IfMatch, matchesVersion } from '../common/if-match';
import { APP_CONFIG } from '../config/config.constants';
import type { AppConfig } from '../config/app-config';
import { DEFAULT_MODEL_CONFIGS } from './default-configs';
import type {
  ChainItemDto,
  CreateModelConfigDto,
  UpdateModelConfigDto,
  UpsertModelConfigDto,
} from './dto/model-config.dto';
import type { ListFilter, ModelConfig, ModelConfigFields } from './model-config.types';
import { ModelConfigsRepository } from './model-configs.repository';
import { configOf } from './model-configs.sql';

/** Reruns of a unit that lost a race for an empty slot (see `retrySlotRace`). */
const SLOT_RACE_RETRIES = 3;

function withDefaults(dto: ChainItemDto, usageType: string, priority: number): ModelConfigFields {
  return {
    usageType,
    priority,
    modelId: dto.modelId,
    modelName: dto.modelName,
    provider: dto.provider,
    parameters: dto.parameters ?? {},
    enabled: dto.enabled ?? true,
  };
}

/** The write side of ModelConfigs, and the reads that return configs by id or page. */
@Injectable()
export class ModelConfigsService implements OnApplicationBootstrap {
  private readonly logger = new Logger(ModelConfigsService.name);

  constructor(
    private readonly repository: ModelConfigsRepository,
    private readonly history: HistoryRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Seeds the default configs when the table is empty at startup (`SEED_ON_EMPTY`). */
  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.seedOnEmpty) return;
    if ((await this.repository.count()) > 0) return;
    const { inserted } = await this.seed();
    this.logger.log(`Seeded ${inserted} default model configs into an empty database`);
  }

  list(filter: ListFilter): Promise<{ items: ModelConfig[]; total: number }> {
    return this.repository.list(filter);
  }

  /**
   * Every config grouped by usage type. Grouped in a `Map` (a usage type is data: `constructor`
   * is a valid one) and turned into an object with own data properties only.
   */
  async grouped(): Promise<Record<string, ModelConfig[]>> {
    const grouped = new Map<string, ModelConfig[]>();
    for (const config of await this.repository.findAll()) {
      const list = grouped.get(config.usageType);
      if (list) list.push(config);
      else grouped.set(config.usageType, [config]);
    }
    return Object.fromEntries(grouped);
  }

  async get(id: string): Promise<ModelConfig> {
    const config = await this.repository.findById(id);
    if (!config) throw ApiError.notFound('Model config');
    return config;
  }

  @RecordedAs('create')
  @Transactional()
  create(dto: CreateModelConfigDto): Promise<ModelConfig> {
    return this.repository.insert(withDefaults(dto, dto.usageType, dto.priority));
  }

  /** Applies a partial change under `If-Match`; an empty change returns the config as it is. */
  @RecordedAs('update')
  @Transactional()
  async update(
    id: string,
    dto: UpdateModelConfigDto,
    ifMatch: IfMatch | undefined,
  ): Promise<ModelConfig> {
    const current = await this.get(id);
    if (!matchesVersion(ifMatch, current.version)) throw ApiError.versionMismatch();
    const fields: ModelConfigFields = { ...current, ...withoutUndefined(dto) };
    if (!changed(current, fields)) return current;
    const updated = await this.repository.update(current, fields);
    if (!updated) throw ApiError.versionMismatch('The config changed meanwhile; read it again.');
    return updated;
  }

  @RecordedAs('delete')
  @Transactional()
  async remove(id: string, ifMatch: IfMatch | undefined): Promise<void> {
    const current = await this.get(id);
    if (!matchesVersion(ifMatch, current.version)) throw ApiError.versionMismatch();
    await this.repository.delete(current);
  }

  /** Creates or replaces the config in one slot. */
  @RecordedAs('upsert')
  async upsertSlot(
    usageType: string,
    priority: number,
    dto: UpsertModelConfigDto,
    ifMatch: IfMatch | undefined,
  ): Promise<{ created: boolean; config: ModelConfig }> {
    const mismatched: string[] = [];
    if (dto.usageType !== undefined && dto.usageType !== usageType)
      mismatched.push('usageType must repeat the path');
    if (dto.priority !== undefined && dto.priority !== priority)
      mismatched.push('priority must repeat the path');
    if (mismatched.length > 0) throw ApiError.validation(mismatched);
    const fields = withDefaults(dto, usageType, priority);
    // Two upserts racing for an empty slot: the loser's INSERT fails at COMMIT; its rerun replaces.
    return this.retrySlotRace(() => this.upsertOnce(fields, ifMatch));
  }

  /**
   * Reruns `unit` when it lost a race for an empty slot (a unique violation at COMMIT between
   * two valid requests); past the limit, the race is reported as a transaction conflict.
   */
  private async retrySlotRace<T>(unit: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await unit();
      } catch (error) {
        const slotRace = error instanceof ConstraintViolationError && error.kind === 'unique';
        if (!slotRace) throw error;
        if (attempt >= SLOT_RACE_RETRIES) throw new TransactionConflictError({ cause: error });
      }
    }
  }

  @Transactional()
  private async upsertOnce(
    fields: ModelConfigFields,
    ifMatch: IfMatch | undefined,
  ): Promise<{ created: boolean; config: ModelConfig }> {
    const current = await this.repository.findBySlot(fields.usageType, fields.priority);
    if (!current) {
      if (ifMatch !== undefined)
        throw ApiError.versionMismatch('The slot is empty; If-Match cannot match.');
      return { created: true, config: await this.repository.insert(fields) };
    }
    if (!matchesVersion(ifMatch, current.version)) throw ApiError.versionMismatch();
    const updated = await this.repository.update(current, fields);
    if (!updated) throw ApiError.versionMismatch('The config changed meanwhile; read it again.');
    return { created: false, config: updated };
  }

  @RecordedAs('delete')
  @Transactional()
  async deleteSlot(usageType: string, priority: number): Promise<void> {
    const current = await this.repository.findBySlot(usageType, priority);
    if (!current) throw ApiError.notFound('Model config');
    await this.repository.delete(current);
  }

  /** Creates every item or none. */
  @RecordedAs('bulk')
  @Transactional()
  async bulkCreate(items: CreateModelConfigDto[]): Promise<ModelConfig[]> {
    const now = new Date();
    // One statement for every item; a taken slot fails it whole (nothing is stored).
    const at = now.toISOString();
    const configs = items.map((item) =>
      newConfig(withDefaults(item, item.usageType, item.priority), at),
    );
    const stored = await this.repository.insertRows(configs, undefined, now);
    const byId = new Map(stored.map((config) => [config.id, config]));
    return configs.map((config) => byId.get(config.id) as ModelConfig);
  }

  /**
   * Replaces a usage type's configs with `items` at priorities 1..n, atomically; answers them and
   * the chain's new version (the newest history seq its own transaction wrote, so no later write
   * can slip in).
   */
  @RecordedAs('chain')
  replaceChain(
    usageType: string,
    items: ChainItemDto[],
    ifMatch?: IfMatch,
  ): Promise<{ items: ModelConfig[]; version: number }> {
    // Concurrent first chains of an empty usage type: the losers' INSERTs fail at COMMIT as a
    // unique violation (there was nothing to delete, so no write-write conflict); rerun them.
    return this.retrySlotRace(() => this.replaceChainOnce(usageType, items, ifMatch));
  }

  /** The version of a usage type's chain: the newest seq of its history (0: none). */
  chainVersion(usageType: string): Promise<number> {
    return this.history.latestSeq(usageType);
  }

  @Transactional()
  private async replaceChainOnce(
    usageType: string,
    items: ChainItemDto[],
    ifMatch: IfMatch | undefined,
  ): Promise<{ items: ModelConfig[]; version: number }> {
    if (ifMatch !== undefined && !matchesVersion(ifMatch, await this.chainVersion(usageType))) {
      throw ApiError.versionMismatch('The chain changed since; read it again.');
    }
    const now = new Date();
    const at = now.toISOString();
    const configs = items.map((item, index) =>
      newConfig(withDefaults(item, usageType, index + 1), at),
    );
    // Three statements for the whole chain, however long; its new version comes with them.
    return this.repository.replaceUsageType(usageType, configs, now);
  }

  /** Inserts each default config whose slot is free. */
  @RecordedAs('seed')
  @Transactional()
  async seed(): Promise<{ inserted: number }> {
    let inserted = 0;
    const now = new Date();
    for (const fields of DEFAULT_MODEL_CONFIGS) {
      if (await this.repository.insertIfSlotFree(fields, now)) inserted++;
    }
    return { inserted };
  }

  /** Deletes every config and seeds the defaults, in one transaction. */
  @RecordedAs('reset')
  @Transactional()
  async reset(): Promise<{ deleted: number; inserted: number }> {
    const deleted = await this.repository.deleteAll();
    const now = new Date();
    for (const fields of DEFAULT_MODEL_CONFIGS) await this.repository.insert(fields, now);
    return { deleted, inserted: DEFAULT_MODEL_CONFIGS.length };
  }
}

/** A new config (version 1) with `fields`, created at `at` (ISO text). */
function newConfig(fields: ModelConfigFields, at: string): ModelConfig {
  return configOf(randomUUID(), fields, 1, at, at);
}

function changed(current: ModelConfig, next: ModelConfigFields): boolean {
  return (
    current.usageType !== next.usageType ||
    current.priority !== next.priority ||
    current.modelId !== next.modelId ||
    current.modelName !== next.modelName ||
    current.provider !== next.provider ||
    current.enabled !== next.enabled ||
    JSON.stringify(current.parameters) !== JSON.stringify(next.parameters)
  );
}
