import { join } from 'node:path';
import { type DynamicModule, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { APP_GUARD } from '@nestjs/core';
import { DuckDbModule, type DuckDbModuleOptions } from '@lib/duckdb';
import { HealthModule } from '@lib/health';
import { LoggingModule, MetricsModule } from '@lib/observability';
import { QueryCacheModule, ResponseCacheModule } from '@lib/query-cache';
import { ResilienceModule, type ResilienceModuleOptions } from '@lib/resilience';
import { TransactionsModule } from '@lib/transactions';
import { ApiKeyGuard } from './common/api-key.guard';
import { ConfigAsCodeModule } from './config-as-code/config-as-code.module';
import type { AppConfig } from './config/app-config';
import { APP_CONFIG } from './config/config.constants';
import { ModelConfigsModule } from './model-configs/model-configs.module';
import { UsageTypesModule } from './usage-types/usage-types.module';
import { ChangeContextHook } from './history/change-context.hook';

/** Where the SQL migrations live (copied next to the compiled code by the Nest CLI). */
export const MIGRATIONS_DIR = join(__dirname, 'model-configs', 'migrations');

function duckDbOptions(
  config: AppConfig['duckdb'],
  retry: AppConfig['retry'],
): DuckDbModuleOptions {
  const duckConfig: Record<string, string> = {
    threads: String(config.threads),
    memory_limit: config.memoryLimit,
    checkpoint_threshold: config.checkpointThreshold,
  };
  return {
    path: config.path,
    pool: {
      enabled: config.poolEnabled,
      min: config.poolMin,
      max: config.poolMax,
      acquireTimeoutMs: config.acquireTimeoutMs,
      idleTimeoutMs: config.idleTimeoutMs,
    },
    queryTimeoutMs: config.queryTimeoutMs,
    config: duckConfig,
    migrations: { directory: MIGRATIONS_DIR },
    // Write-write conflicts rerun the whole transaction, with the service's retry settings.
    transactions: {
      defaultRetries: retry.maxRetries,
      retryBaseDelayMs: retry.baseDelayMs,
      retryMaxDelayMs: retry.maxDelayMs,
    },
  };
}

/** Makes the validated {@link AppConfig} injectable everywhere as `APP_CONFIG`. */
@Module({})
class AppConfigModule {}

/** The resilience policies from the environment (`RETRY_*`, `BREAKER_*`). */
function resilienceOptions(config: AppConfig): ResilienceModuleOptions & { isGlobal: boolean } {
  return {
    isGlobal: true,
    retry: {
      maxRetries: config.retry.maxRetries,
      baseDelayMs: config.retry.baseDelayMs,
      maxDelayMs: config.retry.maxDelayMs,
    },
    breaker: {
      failureThreshold: config.breaker.failureThreshold,
      resetTimeoutMs: config.breaker.resetTimeoutMs,
      // A statement slower than half the query timeout is slow.
      slowCallDurationMs: Math.max(1, Math.floor(config.duckdb.queryTimeoutMs / 2)) || 5_000,
    },
  };
}

/** The API application: configuration, the DuckDB library, health, and the ModelConfig domain. */
@Module({})
export class AppModule {
  /** Builds the module for one validated configuration. */
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        {
          module: AppConfigModule,
          global: true,
          providers: [{ provide: APP_CONFIG, useValue: config }],
          exports: [APP_CONFIG],
        },
        ConfigModule.forRoot({
          isGlobal: true,
          ignoreEnvFile: true,
          load: [() => ({ ...config })],
        }),
        // Before DuckDbModule: its client picks up the database guard (breaker + read retries).
        ResilienceModule.forRoot(resilienceOptions(config)),
        DuckDbModule.forRootAsync({
          isGlobal: true,
          inject: [ConfigService],
          useFactory: (configService: ConfigService) =>
            duckDbOptions(
              configService.getOrThrow<AppConfig['duckdb']>('duckdb'),
              configService.getOrThrow<AppConfig['retry']>('retry'),
            ),
        }),
        TransactionsModule,
        QueryCacheModule.forRootAsync({
          isGlobal: true,
          inject: [ConfigService],
          useFactory: (configService: ConfigService) => {
            const cache = configService.getOrThrow<AppConfig['cache']>('cache');
            return {
              store: cache.store,
              redisUrl: cache.redisUrl,
              namespace: 'model-configs',
              ttlMs: cache.ttlMs,
              opTimeoutMs: cache.opTimeoutMs,
            };
          },
        }),
        ResponseCacheModule.forRoot({ entries: config.cache.responseEntries }),
        HealthModule.forRoot({}),
        LoggingModule.forRootAsync({
          inject: [ConfigService],
          useFactory: (configService: ConfigService) => ({
            level: configService.getOrThrow<AppConfig['logLevel']>('logLevel'),
          }),
        }),
        MetricsModule.forRoot({ isGlobal: true }),
        ModelConfigsModule,
        UsageTypesModule,
        ConfigAsCodeModule,
      ],
      providers: [
        { provide: APP_GUARD, useFactory: () => new ApiKeyGuard(config.apiKeys) },
        ChangeContextHook,
      ],
    };
  }
}
