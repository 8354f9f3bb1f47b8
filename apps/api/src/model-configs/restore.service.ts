import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Transactional } from '@lib/transactions';
import { ApiError } from '../common/api-error';
import { type IfMatch, matchesVersion } from '../common/if-match';
import { RecordedAs } from '../history/change-context';
import { HistoryRepository } from '../history/history.repository';
import { type ConfigChange, deleteOf } from '../history/history.types';
import type { ModelConfig, ModelConfigFields } from './model-config.types';
import { ModelConfigsRepository } from './model-configs.repository';

/** The writable fields of a config (what a restore brings back). */
function fieldsOf(config: ModelConfig): ModelConfigFields {
  const { usageType, priority, modelId, modelName, provider, parameters, enabled } = config;
  return { usageType, priority, modelId, modelName, provider, parameters, enabled };
}

const sameFields = (a: ModelConfig, b: ModelConfig): boolean =>
  JSON.stringify(fieldsOf(a)) === JSON.stringify(fieldsOf(b));

/**
 * Puts configs back as the history recorded them (API.md §2, History): one config at one of its
 * versions, or a usage type's whole chain as it was at a time. Each restore writes new versions
 * (never rewrites the past) and is itself recorded, as a `restore`.
 */
@Injectable()
export class RestoreService {
  constructor(
    private readonly repository: ModelConfigsRepository,
    private readonly history: HistoryRepository,
  ) {}

  /**
   * Gives config `id` the content it had at `version`. A live config is updated (`If-Match`
   * against its current version; unchanged content is answered as it is); a deleted one is
   * created again under its id, one version past its last.
   */
  @RecordedAs('restore')
  @Transactional()
  async restoreConfig(
    id: string,
    version: number,
    ifMatch: IfMatch | undefined,
  ): Promise<{ created: boolean; config: ModelConfig }> {
    const content = await this.history.contentAt(id, version);
    if (!content) throw ApiError.notFound(`Version ${version} of the config`);
    const current = await this.repository.findById(id);
    if (!current) {
      if (ifMatch !== undefined) {
        throw ApiError.versionMismatch('The config was deleted; If-Match cannot match.');
      }
      const now = new Date().toISOString();
      const revived = { ...content, version: (await this.history.lastVersion(id)) + 1 };
      const [config] = await this.repository.insertRows([{ ...revived, updatedAt: now }]);
      return { created: true, config };
    }
    if (!matchesVersion(ifMatch, current.version)) throw ApiError.versionMismatch();
    if (sameFields(current, content)) return { created: false, config: current };
    const updated = await this.repository.update(current, fieldsOf(content));
    if (!updated) throw ApiError.versionMismatch('The config changed meanwhile; read it again.');
    return { created: false, config: updated };
  }

  /**
   * Makes usage type `usageType` hold exactly the configs it held at `at`: configs changed since
   * get their old content as a new version, configs added since are deleted, configs deleted
   * since come back under their ids (a new id if theirs now serves another usage type).
   * `If-Match` names the usage type's newest history seq (its history's ETag).
   */
  @RecordedAs('restore')
  @Transactional()
  async restoreChain(
    usageType: string,
    at: Date,
    ifMatch: IfMatch | undefined,
  ): Promise<ModelConfig[]> {
    if (ifMatch !== undefined) {
      if (!matchesVersion(ifMatch, await this.history.latestSeq(usageType))) {
        throw ApiError.versionMismatch('The chain changed since; read its history again.');
      }
    }
    const then = await this.history.stateAt(usageType, at);
    if (!then) throw ApiError.notFound(`History of ${usageType} at that time`);
    const current = new Map((await this.repository.ofUsageType(usageType)).map((c) => [c.id, c]));
    if (then.length === current.size && then.every((c) => isKept(current.get(c.id), c))) {
      return [...current.values()].sort((a, b) => a.priority - b.priority);
    }
    const now = new Date().toISOString();
    const changes: ConfigChange[] = [];
    const rows: ModelConfig[] = [];
    for (const old of then) {
      const live = current.get(old.id);
      current.delete(old.id);
      if (live && isKept(live, old)) {
        rows.push(live);
        continue;
      }
      const row = await this.revive(old, live, now);
      rows.push(row);
      changes.push({ action: live ? 'update' : 'create', before: live ?? null, after: row });
    }
    for (const gone of current.values()) changes.push(deleteOf(gone));
    await this.repository.restoreUsageType(usageType, rows, changes);
    return rows.sort((a, b) => a.priority - b.priority);
  }

  /** `old` as a new row: the next version of its id, or a new config if the id is taken. */
  private async revive(old: ModelConfig, live: ModelConfig | undefined, now: string) {
    if (live)
      return { ...old, version: live.version + 1, createdAt: live.createdAt, updatedAt: now };
    if (await this.repository.findById(old.id)) {
      return { ...old, id: randomUUID(), version: 1, createdAt: now, updatedAt: now };
    }
    return { ...old, version: (await this.history.lastVersion(old.id)) + 1, updatedAt: now };
  }
}

/** A live config that already is what the restore asks for (same slot and content). */
const isKept = (live: ModelConfig | undefined, old: ModelConfig): live is ModelConfig =>
  live !== undefined && sameFields(live, old);
