import type { ChangeEvent, ModelConfig } from './types';

/**
 * The configs the client keeps, by usage type and id. Changes apply only forward: a config is
 * replaced by a higher version only, so an event that a fresher snapshot already holds is a no-op.
 */
export class LocalCopy {
  private readonly byUsageType = new Map<string, Map<string, ModelConfig>>();
  private readonly chains = new Map<string, ModelConfig[]>();

  constructor(private readonly keeps: (usageType: string) => boolean) {}

  /** Replaces everything kept for `usageType` with `configs`. */
  load(usageType: string, configs: readonly ModelConfig[]): void {
    this.byUsageType.set(usageType, new Map(configs.map((config) => [config.id, config])));
    this.chains.delete(usageType);
  }

  /** Applies an event; returns the kept usage types it changed. */
  apply(event: ChangeEvent): string[] {
    const changed = new Set<string>();
    for (const change of event.changes) {
      for (const [usageType, configs] of this.byUsageType) {
        const current = configs.get(change.configId);
        if (current && current.version <= change.version && current !== change.config) {
          configs.delete(change.configId);
          changed.add(usageType);
        }
      }
      const config = change.config;
      if (!config || !this.keeps(config.usageType)) continue;
      let configs = this.byUsageType.get(config.usageType);
      if (!configs) this.byUsageType.set(config.usageType, (configs = new Map()));
      const current = configs.get(config.id);
      if (current && current.version > config.version) continue;
      configs.set(config.id, config);
      changed.add(config.usageType);
    }
    for (const usageType of changed) this.chains.delete(usageType);
    return [...changed];
  }

  /** Every kept config of `usageType`, by priority (disabled ones too). */
  configs(usageType: string): ModelConfig[] {
    let chain = this.chains.get(usageType);
    if (!chain) {
      chain = [...(this.byUsageType.get(usageType)?.values() ?? [])].sort(
        (a, b) => a.priority - b.priority,
      );
      this.chains.set(usageType, chain);
    }
    return chain;
  }

  /** The usage types held. */
  usageTypes(): string[] {
    return [...this.byUsageType.keys()].sort();
  }
}
