import {
  ConflictException,
  Controller,
  Get,
  Injectable,
  Param,
  ParseIntPipe,
  Post,
} from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DuckDbClient, transactionStorage } from '@lib/duckdb';
import { TransactionHost, Transactional, UseTransaction } from '@lib/transactions';
import { type Observable, concatMap, defer, from, map, mergeMap, of, throwError } from 'rxjs';
import { compileWithDuckDb } from './testing';
import { sleep, barrier } from '@lib/common/testing';

interface Reply {
  id: number;
  inTransaction: boolean;
  /** Rows with this id that a client outside the transaction saw before the handler finished. */
  seenOutside?: number;
  afterCommitRan?: boolean;
}

@Injectable()
class Rows {
  constructor(private readonly db: DuckDbClient) {}

  async insert(id: number): Promise<void> {
    await this.db.execute('INSERT INTO rows VALUES ($1)', [id]);
  }

  /** How many rows with `id` a client outside any transaction sees. */
  async committed(id: number): Promise<number> {
    const row = await transactionStorage.exit(() =>
      this.db.queryOne<{ n: number }>('SELECT count(*) AS n FROM rows WHERE id = $1', [id]),
    );
    return row?.n ?? 0;
  }

  /** A service method with its own `@Transactional`: it joins the handler's transaction. */
  @Transactional()
  async insertTwo(id: number): Promise<boolean> {
    await this.insert(id);
    await this.insert(id + 1);
    return this.db.isInTransaction();
  }
}

@Controller('rows')
class RowsController {
  arrive: () => Promise<void> = async () => undefined;
  attempts = 0;
  hookRan = false;

  constructor(
    private readonly db: DuckDbClient,
    private readonly rows: Rows,
    private readonly host: TransactionHost,
  ) {}

  @Post('plain/:id')
  @UseTransaction()
  async plain(@Param('id', ParseIntPipe) id: number): Promise<Reply> {
    await this.rows.insert(id);
    this.hookRan = false;
    this.host.afterCommit(async () => {
      await sleep(50);
      this.hookRan = true;
    });
    return {
      id,
      inTransaction: this.db.isInTransaction(),
      seenOutside: await this.rows.committed(id),
    };
  }

  @Post('of/:id')
  @UseTransaction()
  ofValue(@Param('id', ParseIntPipe) id: number): Observable<Reply> {
    return of({ id, inTransaction: this.db.isInTransaction() });
  }

  @Post('deferred/:id')
  @UseTransaction()
  deferred(@Param('id', ParseIntPipe) id: number): Observable<Reply> {
    return defer(() => from(this.rows.insert(id))).pipe(
      concatMap(() => from(this.rows.insert(id + 1))),
      concatMap(() => from(this.rows.committed(id))),
      map((seenOutside) => ({ id, inTransaction: this.db.isInTransaction(), seenOutside })),
    );
  }

  @Post('observable-error/:id')
  @UseTransaction()
  observableError(@Param('id', ParseIntPipe) id: number): Observable<Reply> {
    return defer(() => from(this.rows.insert(id))).pipe(
      mergeMap(() => throwError(() => new ConflictException('refused after the insert'))),
    );
  }

  @Post('throws/:id')
  @UseTransaction()
  async throws(@Param('id', ParseIntPipe) id: number): Promise<Reply> {
    await this.rows.insert(id);
    throw new Error('unexpected failure after the insert');
  }

  @Post('service/:id')
  @UseTransaction()
  async service(@Param('id', ParseIntPipe) id: number): Promise<Reply> {
    const joined = await this.rows.insertTwo(id);
    return { id, inTransaction: joined, seenOutside: await this.rows.committed(id) };
  }

  @Post('increment')
  @UseTransaction({ retries: 3 })
  async increment(): Promise<{ ok: true }> {
    this.attempts++;
    await this.db.query('SELECT v FROM counters WHERE id = 1');
    await this.arrive();
    await this.db.execute('UPDATE counters SET v = v + 1 WHERE id = 1');
    return { ok: true };
  }

  @Get('outside')
  outside(): { inTransaction: boolean } {
    return { inTransaction: this.db.isInTransaction() };
  }
}

describe('TransactionInterceptor over HTTP', () => {
  let removeFiles: () => void;
  let app: NestFastifyApplication;
  let url: string;
  let db: DuckDbClient;
  let host: TransactionHost;
  let controller: RowsController;

  const post = async (path: string): Promise<{ status: number; body: Record<string, unknown> }> => {
    const res = await fetch(`${url}${path}`, { method: 'POST' });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  const stored = async (): Promise<number[]> =>
    (await db.query<{ id: number }>('SELECT id FROM rows'))
      .map((row) => row.id)
      .sort((a, b) => a - b);

  beforeAll(async () => {
    const compiled = await compileWithDuckDb(
      { providers: [Rows], controllers: [RowsController] },
      { transactions: { retryBaseDelayMs: 5 } },
    );
    removeFiles = compiled.removeFiles;
    const { moduleRef } = compiled;
    app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), {
      logger: false,
    });
    await app.listen(0, '127.0.0.1');
    const address = app.getHttpServer().address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    url = `http://127.0.0.1:${address.port}`;
    db = app.get(DuckDbClient);
    host = app.get(TransactionHost);
    controller = app.get(RowsController);
    await db.execute('CREATE TABLE rows (id INTEGER PRIMARY KEY)');
    await db.execute('CREATE TABLE counters (id INTEGER PRIMARY KEY, v INTEGER)');
  });

  afterAll(async () => {
    await app.close();
    removeFiles();
  });

  beforeEach(async () => {
    await db.execute('DELETE FROM rows');
  });

  it('commits a handler returning a plain value, after-commit hooks included, before responding', async () => {
    const committedBefore = host.stats().committed;
    const res = await post('/rows/plain/1');
    expect(res).toEqual({
      status: 201,
      body: { id: 1, inTransaction: true, seenOutside: 0 },
    });
    expect(controller.hookRan).toBe(true);
    expect(host.stats().committed).toBe(committedBefore + 1);
    await expect(stored()).resolves.toEqual([1]);
  });

  it('runs a handler returning of(...) in a transaction and commits it', async () => {
    const committedBefore = host.stats().committed;
    await expect(post('/rows/of/5')).resolves.toEqual({
      status: 201,
      body: { id: 5, inTransaction: true },
    });
    expect(host.stats().committed).toBe(committedBefore + 1);
  });

  it('commits the inserts of a deferred Observable when it completes', async () => {
    await expect(post('/rows/deferred/10')).resolves.toEqual({
      status: 201,
      body: { id: 10, inTransaction: true, seenOutside: 0 },
    });
    await expect(stored()).resolves.toEqual([10, 11]);
  });

  it('rolls back when the Observable errors after an insert, and answers with the error', async () => {
    const rolledBackBefore = host.stats().rolledBack;
    const res = await post('/rows/observable-error/20');
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ message: 'refused after the insert' });
    expect(host.stats().rolledBack).toBe(rolledBackBefore + 1);
    await expect(stored()).resolves.toEqual([]);
  });

  it('rolls back when the handler throws after an insert', async () => {
    const res = await post('/rows/throws/30');
    expect(res.status).toBe(500);
    await expect(stored()).resolves.toEqual([]);
  });

  it('lets @Transactional service methods join the handler’s transaction', async () => {
    await expect(post('/rows/service/40')).resolves.toEqual({
      status: 201,
      body: { id: 40, inTransaction: true, seenOutside: 0 },
    });
    await expect(stored()).resolves.toEqual([40, 41]);
  });

  it('leaves handlers without @UseTransaction alone', async () => {
    const res = await fetch(`${url}/rows/outside`);
    await expect(res.json()).resolves.toEqual({ inTransaction: false });
  });

  it('reruns a conflicting handler with the retries of @UseTransaction', async () => {
    await db.execute('DELETE FROM counters');
    await db.execute('INSERT INTO counters VALUES (1, 0)');
    controller.attempts = 0;
    controller.arrive = barrier(2);
    const retriedBefore = host.stats().retried;
    const results = await Promise.all([post('/rows/increment'), post('/rows/increment')]);
    expect(results.map((r) => r.status)).toEqual([201, 201]);
    expect(controller.attempts).toBe(3);
    expect(host.stats().retried).toBe(retriedBefore + 1);
    await expect(db.queryOne('SELECT v FROM counters WHERE id = 1')).resolves.toEqual({ v: 2 });
  });
});
