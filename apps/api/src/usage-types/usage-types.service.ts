import { Injectable } from '@nestjs/common';
import { ApiError } from '../common/api-error';
import type { ModelConfig, UsageTypeSummary } from '../model-configs/model-config.types';
import { ModelConfigsRepository } from '../model-configs/model-configs.repository';

/**
 * The read side by usage type and provider: summaries, active model, fallback chain, model
 * validation, provider models. Reads only, through the repository `ModelConfigsModule` exports.
 */
@Injectable()
export class UsageTypesService {
  constructor(private readonly repository: ModelConfigsRepository) {}

  /** Every usage type with its config counts and active model id. */
  summaries(): Promise<UsageTypeSummary[]> {
    return this.repository.summarizeUsageTypes();
  }

  /** The enabled config with the lowest priority; 404 when none is enabled. */
  async active(usageType: string): Promise<ModelConfig> {
    const config = await this.repository.findActive(usageType);
    if (!config) throw ApiError.notFound('Enabled model config for that usage type');
    return config;
  }

  /** The enabled model ids by priority (maybe none); 404 when the usage type has no config. */
  async fallbackChain(usageType: string): Promise<{ usageType: string; modelIds: string[] }> {
    const modelIds = await this.repository.findChain(usageType);
    if (modelIds === null) throw ApiError.notFound('Usage type');
    return { usageType, modelIds };
  }

  /** The enabled config of `modelId` for `usageType`; 404 with `valid: false` otherwise. */
  async validateModel(
    usageType: string,
    modelId: string,
  ): Promise<{ valid: true; config: ModelConfig }> {
    const config = await this.repository.findEnabledModel(usageType, modelId);
    if (!config) throw ApiError.notFound('Enabled model for that usage type', { valid: false });
    return { valid: true, config };
  }

  /** The provider's enabled model ids, distinct and sorted; an unknown provider has none. */
  async providerModels(provider: string): Promise<{ provider: string; modelIds: string[] }> {
    return { provider, modelIds: await this.repository.findProviderModels(provider) };
  }
}
