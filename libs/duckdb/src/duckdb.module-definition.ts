import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { DuckDbModuleOptions } from './duckdb.interfaces';

/** The `ConfigurableModuleBuilder` behind `DuckDbModule.forRoot` / `forRootAsync`. */
export const {
  ConfigurableModuleClass: DuckDbConfigurableModule,
  MODULE_OPTIONS_TOKEN: DUCKDB_MODULE_OPTIONS,
  OPTIONS_TYPE: DUCKDB_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: DUCKDB_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<DuckDbModuleOptions>({ moduleName: 'DuckDb' })
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: true }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();
