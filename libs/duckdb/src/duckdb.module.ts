import {
  Inject,
  Logger,
  Module,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { DuckDbClient } from './duckdb.client';
import { DuckDbDatabase } from './duckdb.database';
import { DUCKDB_MODULE_OPTIONS, DuckDbConfigurableModule } from './duckdb.module-definition';
import { DUCKDB_TRANSACTION_OPTIONS } from './duckdb.constants';
import type { DuckDbModuleOptions, ResolvedDuckDbOptions } from './duckdb.interfaces';
import { resolveDuckDbOptions } from './duckdb.options';
import { migrate } from './migrations/migrator';
import { DuckDbPool } from './pool/duckdb-pool';

/** Injection token of the resolved options. */
const RESOLVED_OPTIONS = 'DUCKDB:RESOLVED_OPTIONS';

/**
 * Opens one DuckDB database, lends its connections through a {@link DuckDbPool} and exposes the
 * {@link DuckDbClient} facade. Runs migrations at startup; on shutdown drains the pool, checkpoints
 * and closes the database.
 *
 * @example
 * DuckDbModule.forRoot({ path: './data/app.duckdb', pool: { max: 4 }, isGlobal: true })
 */
@Module({
  providers: [
    {
      provide: RESOLVED_OPTIONS,
      inject: [DUCKDB_MODULE_OPTIONS],
      useFactory: (options: DuckDbModuleOptions) => resolveDuckDbOptions(options),
    },
    {
      provide: DuckDbDatabase,
      inject: [RESOLVED_OPTIONS],
      useFactory: (options: ResolvedDuckDbOptions) => DuckDbDatabase.open(options),
    },
    {
      provide: DuckDbPool,
      inject: [DuckDbDatabase, RESOLVED_OPTIONS],
      useFactory: async (database: DuckDbDatabase, options: ResolvedDuckDbOptions) => {
        const pool = new DuckDbPool(database.instance, {
          ...options.pool,
          queryTimeoutMs: options.queryTimeoutMs,
          statementCacheSize: options.statementCacheSize,
        });
        await pool.start();
        // DuckDB refuses all work on an instance it invalidated (a fatal error, such as a
        // checkpoint on a full disk) until it is reopened: the pool reopens it, as a restart would.
        if (!database.inMemory) pool.setReopener(() => database.reopen());
        return pool;
      },
    },
    {
      provide: DUCKDB_TRANSACTION_OPTIONS,
      inject: [RESOLVED_OPTIONS],
      useFactory: (options: ResolvedDuckDbOptions) => options.transactions,
    },
    DuckDbClient,
  ],
  exports: [DuckDbClient, DuckDbPool, DuckDbDatabase, DUCKDB_TRANSACTION_OPTIONS],
})
export class DuckDbModule
  extends DuckDbConfigurableModule
  implements OnModuleInit, OnApplicationShutdown
{
  private readonly logger = new Logger('DuckDb');

  constructor(
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedDuckDbOptions,
    private readonly database: DuckDbDatabase,
    private readonly pool: DuckDbPool,
  ) {
    super();
  }

  async onModuleInit(): Promise<void> {
    if (this.options.migrations) {
      this.database.schemaVersion = await migrate(this.pool, this.options.migrations.directory);
    }
    const { min, max, enabled } = this.pool.stats();
    this.logger.log(
      `Opened ${this.database.file} (${enabled ? `pool ${min}..${max}` : 'single shared connection'}, schema v${this.database.schemaVersion})`,
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool.drain();
    if (!this.database.inMemory) {
      try {
        const connection = await this.database.instance.connect();
        await connection.run('CHECKPOINT');
        connection.closeSync();
      } catch (error) {
        this.logger.warn(
          `Checkpoint at shutdown failed (the WAL keeps every commit): ${String(error)}`,
        );
      }
    }
    this.database.close();
    this.logger.log(`Closed ${this.database.file}`);
  }
}
