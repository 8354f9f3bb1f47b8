import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { QueryCacheModuleOptions } from './query-cache.interfaces';

/** The `ConfigurableModuleBuilder` behind `QueryCacheModule.forRoot` / `forRootAsync`. */
export const {
  ConfigurableModuleClass: QueryCacheConfigurableModule,
  MODULE_OPTIONS_TOKEN: QUERY_CACHE_MODULE_OPTIONS,
} = new ConfigurableModuleBuilder<QueryCacheModuleOptions>({ moduleName: 'QueryCache' })
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: true }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();
