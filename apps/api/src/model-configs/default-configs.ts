import type { ModelConfigFields } from './model-config.types';

const openrouter = (usageType: string): ModelConfigFields => ({
  usageType,
  priority: 1,
  modelId: 'openrouter/auto',
  modelName: 'OpenRouter Auto',
  provider: 'openrouter',
  parameters: {},
  enabled: true,
});

/** The nine default configs of the original service (API.md §1, Default configs). */
export const DEFAULT_MODEL_CONFIGS: readonly ModelConfigFields[] = [
  openrouter('general_available_models'),
  openrouter('chat_deep'),
  openrouter('chat_semantic'),
  openrouter('chat_text'),
  openrouter('chat_graph'),
  openrouter('chat_title'),
  openrouter('kg_edge_creation'),
  {
    usageType: 'embedding',
    priority: 1,
    modelId: 'nomic-embed-text',
    modelName: 'Nomic Embed Text',
    provider: 'ollama',
    parameters: {},
    enabled: true,
  },
  {
    usageType: 'inference',
    priority: 1,
    modelId: 'llama3.1:8b',
    modelName: 'Llama 3.1 8B',
    provider: 'ollama',
    parameters: {},
    enabled: true,
  },
];
