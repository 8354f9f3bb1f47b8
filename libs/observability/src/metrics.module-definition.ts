import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { MetricsModuleOptions } from './observability.interfaces';

/** The `ConfigurableModuleBuilder` behind `MetricsModule.forRoot` / `forRootAsync`. */
export const {
  ConfigurableModuleClass: MetricsConfigurableModule,
  MODULE_OPTIONS_TOKEN: METRICS_MODULE_OPTIONS,
  OPTIONS_TYPE: METRICS_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: METRICS_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<MetricsModuleOptions>({
  moduleName: 'Metrics',
  optionsInjectionToken: 'OBSERVABILITY:METRICS_OPTIONS',
})
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: false }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();
