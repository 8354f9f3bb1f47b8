import { Injectable } from '@nestjs/common';
import { ApiError } from '../common/api-error';
import type { ModelConfig, UsageTypeSummary } from '../model-configs/model-config.types';
import { ModelConfigsRepository } from '../model-configs/model-configs.repository';

/** The read side by usage type and provider: active model, fallback chain, model validation. */
@Injectable()
export class UsageTypesService {
  constructor(private readonly repository: ModelConfigsRepository) {}

  summaries(): Promise<UsageTypeSummary[]> {
    return this.repository.summarizeUsageTypes();
  }

  async active(usageType: string): Promise<ModelConfig> {
    const config = await this.repository.findActive(usageType);
    if (!config) throw ApiError.notFound('Enabled model config for that usage type');
    return config;
  }

  async fallbackChain(usageType: string): Promise<{ usageType: string; modelIds: string[] }> {
    const modelIds = await this.repository.findChain(usageType);
    if (modelIds === null) throw ApiError.notFound('Usage type');
    return { usageType, modelIds };
  }

  async validateModel(
    usageType: string,
    modelId: string,
  ): Promise<{ valid: true; config: ModelConfig }> {
    const config = await this.repository.findEnabledModel(usageType, modelId);
    if (!config) throw ApiError.notFound('Enabled model for that usage type', { valid: false });
    return { valid: true, config };
  }

  async providerModels(provider: string): Promise<{ provider: string; modelIds: string[] }> {
    return { provider, modelIds: await this.repository.findProviderModels(provider) };
  }
}
