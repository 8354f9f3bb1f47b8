import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { HealthModuleOptions } from './health.interfaces';

/** The `ConfigurableModuleBuilder` behind `HealthModule.forRoot` / `forRootAsync`. */
export const {
  ConfigurableModuleClass: HealthConfigurableModule,
  MODULE_OPTIONS_TOKEN: HEALTH_MODULE_OPTIONS,
  OPTIONS_TYPE: HEALTH_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: HEALTH_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<HealthModuleOptions>({
  moduleName: 'Health',
  optionsInjectionToken: 'HEALTH:MODULE_OPTIONS',
})
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: false }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();
