import type { Counters } from './counters';
import type { ConfigFields } from './mix-random';
import {
  DELETED_IDS_KEPT,
  type Expected,
  LANES,
  type Lane,
  MAX_PRIORITY,
  type ServerConfig,
} from './types';

/**
 * What the server must hold at the end, as the acknowledgements said: each lane's slots, and
 * the ids deleted most recently (which must answer 404).
 */
export class ExpectedState {
  /** One lane per usage type, `soak_00` … `soak_11`. */
  readonly lanes: Lane[];
  /** The last {@link DELETED_IDS_KEPT} deleted ids, oldest first. */
  readonly deletedIds: string[] = [];

  constructor(private readonly counters: Counters) {
    this.lanes = Array.from({ length: LANES }, (_, i) => ({
      usageType: `soak_${String(i).padStart(2, '0')}`,
      busy: false,
      slots: new Map<number, Expected>(),
    }));
  }

  /** Priorities of the lane nothing holds, ascending. */
  freePriorities(lane: Lane): number[] {
    const free: number[] = [];
    for (let p = 1; p <= MAX_PRIORITY; p++) if (!lane.slots.has(p)) free.push(p);
    return free;
  }

  /**
   * Checks an acknowledged config against what was sent (and its `version`, when given), counts
   * a difference as a wrong acknowledgement, and records the config as its slot's content.
   */
  accept(lane: Lane, sent: ConfigFields, got: ServerConfig, version?: number): void {
    const same =
      got.usageType === sent.usageType &&
      got.priority === sent.priority &&
      got.modelId === sent.modelId &&
      got.modelName === sent.modelName &&
      got.provider === sent.provider &&
      got.enabled === sent.enabled &&
      JSON.stringify(got.parameters) === JSON.stringify(sent.parameters) &&
      (version === undefined || got.version === version);
    if (!same) {
      this.counters.wrongAcks++;
      this.counters.problem(`ack differs: sent ${JSON.stringify(sent)} got ${JSON.stringify(got)}`);
    }
    lane.slots.set(got.priority, {
      id: got.id,
      priority: got.priority,
      modelId: got.modelId,
      modelName: got.modelName,
      provider: got.provider,
      parameters: got.parameters,
      enabled: got.enabled,
      version: got.version,
    });
  }

  /** Empties a slot; its id joins the deleted ids. */
  forget(lane: Lane, priority: number): void {
    const old = lane.slots.get(priority);
    if (!old) return;
    lane.slots.delete(priority);
    this.deletedIds.push(old.id);
    if (this.deletedIds.length > DELETED_IDS_KEPT) this.deletedIds.shift();
  }

  /** Replaces the lane's slots with the server's list (after a write whose outcome is unknown). */
  reset(lane: Lane, items: readonly ServerConfig[]): void {
    lane.slots.clear();
    for (const item of items) lane.slots.set(item.priority, { ...item });
  }
}
