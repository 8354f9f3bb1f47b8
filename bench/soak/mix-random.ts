import { mulberry32 } from '../support/model-configs-db';
import { PROVIDERS, type ServerConfig } from './types';

/** The fields of a config the mix writes (everything but the server's `id` and `version`). */
export type ConfigFields = Omit<ServerConfig, 'id' | 'version'>;

/**
 * The mix's single seeded random stream and serial counter, shared by reads and writes so that
 * a seed always yields the same sequence of choices.
 */
export class MixRandom {
  /** A number in [0, 1) from the seeded stream. */
  readonly random: () => number;
  private serial = 0;

  constructor(seed: number) {
    this.random = mulberry32(seed);
  }

  /** One of `items`, uniformly (undefined for an empty list). */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)];
  }

  /** 0, 1, 2…: makes unknown URLs and model names unique. */
  nextSerial(): number {
    return this.serial++;
  }

  /** A new config for `priority` of the usage type: model, provider, parameters, enabled. */
  fields(usageType: string, priority: number): ConfigFields {
    const n = this.nextSerial();
    return {
      usageType,
      priority,
      modelId: `model-${n % 97}`,
      modelName: `Soak model ${n}`,
      provider: this.pick(PROVIDERS),
      parameters: { temperature: Math.round(this.random() * 100) / 100, n },
      enabled: this.random() < 0.8,
    };
  }
}
