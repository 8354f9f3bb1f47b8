import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { ResilienceModuleOptions } from './resilience.interfaces';

/** The `ConfigurableModuleBuilder` behind `ResilienceModule.forRoot` / `forRootAsync`. */
export const {
  ConfigurableModuleClass: ResilienceConfigurableModule,
  MODULE_OPTIONS_TOKEN: RESILIENCE_MODULE_OPTIONS,
} = new ConfigurableModuleBuilder<ResilienceModuleOptions>({ moduleName: 'Resilience' })
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: true }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();
