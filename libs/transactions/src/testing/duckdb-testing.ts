import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoggerService, ModuleMetadata } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { DuckDbModule, type DuckDbModuleOptions } from '@lib/duckdb';
import { TransactionsModule } from '@lib/transactions';

/** A compiled testing module on a DuckDB file of its own, and how to remove that file. */
export interface DuckDbTestingModule {
  moduleRef: TestingModule;
  /** Removes the temporary directory of the database file (after the module is closed). */
  removeFiles: () => void;
}

/**
 * Compiles a testing module with `DuckDbModule` (global, on a file in a new temporary directory,
 * pool max 4 unless `duckdb` says otherwise), `TransactionsModule`, and `metadata`'s providers
 * and controllers. The caller initialises it (or builds an application from it), closes it, then
 * calls `removeFiles`.
 *
 * @example
 * const { moduleRef, removeFiles } = await compileWithDuckDb({ providers: [Orders] });
 * await moduleRef.init();
 */
export async function compileWithDuckDb(
  metadata: Pick<ModuleMetadata, 'providers' | 'controllers'>,
  duckdb: Omit<DuckDbModuleOptions, 'path' | 'isGlobal'> = {},
  logger?: LoggerService,
): Promise<DuckDbTestingModule> {
  const dir = mkdtempSync(join(tmpdir(), 'duckdb-spec-'));
  const removeFiles = () => rmSync(dir, { recursive: true, force: true });
  try {
    const builder = Test.createTestingModule({
      imports: [
        DuckDbModule.forRoot({
          path: join(dir, 'test.duckdb'),
          isGlobal: true,
          pool: { max: 4 },
          ...duckdb,
        }),
        TransactionsModule,
      ],
      ...metadata,
    });
    if (logger) builder.setLogger(logger);
    return { moduleRef: await builder.compile(), removeFiles };
  } catch (error) {
    removeFiles();
    throw error;
  }
}
