import { BadRequestException, InternalServerErrorException } from '@nestjs/common';
import { TaskCancelledError } from 'cockatiel';
import {
  DatabaseInvalidatedError,
  DatabaseIoError,
  type DuckDbCallInfo,
  QuerySyntaxError,
  TransactionConflictError,
  UniqueViolationError,
} from '@lib/duckdb';
import { ResiliencePolicies } from './resilience-policies';
import type { Clock } from './clock';
import { DatabaseExceptionHandler } from './database-exception.handler';
import { DatabaseCallGuard } from './database.guard';
import { DATABASE_CIRCUIT } from './resilience.constants';
import { CircuitOpenError, OperationTimeoutError } from './resilience.errors';

const clock: Clock = { now: () => 0 };
const handler = new DatabaseExceptionHandler();

const READ: DuckDbCallInfo = { operation: 'query', returnsRows: true, inTransaction: false };
const WRITE: DuckDbCallInfo = { operation: 'execute', returnsRows: false, inTransaction: false };
const READ_IN_TX: DuckDbCallInfo = { operation: 'query', returnsRows: true, inTransaction: true };

function setup(): { guard: DatabaseCallGuard; policies: ResiliencePolicies } {
  const policies = new ResiliencePolicies(
    { clock, random: () => 0, retry: { maxRetries: 3, baseDelayMs: 1 } },
    handler,
  );
  return { guard: new DatabaseCallGuard(policies), policies };
}

describe('DatabaseCallGuard', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  async function run(
    guard: DatabaseCallGuard,
    info: DuckDbCallInfo,
    fn: () => Promise<unknown>,
  ): Promise<unknown> {
    const outcome = guard.run(fn, info).then(
      (value) => value,
      (error: unknown) => error,
    );
    await jest.runAllTimersAsync();
    return outcome;
  }

  const ioFailure = (counter: { n: number }) => async (): Promise<never> => {
    counter.n++;
    throw new DatabaseIoError();
  };

  it('retries a failed read outside a transaction', async () => {
    const { guard } = setup();
    const counter = { n: 0 };
    await expect(run(guard, READ, ioFailure(counter))).resolves.toBeInstanceOf(DatabaseIoError);
    expect(counter.n).toBe(4);
  });

  it('never retries a write (it may have landed)', async () => {
    const { guard } = setup();
    const counter = { n: 0 };
    await expect(run(guard, WRITE, ioFailure(counter))).resolves.toBeInstanceOf(DatabaseIoError);
    expect(counter.n).toBe(1);
  });

  it('never retries inside a transaction (the owner reruns the unit)', async () => {
    const { guard } = setup();
    const counter = { n: 0 };
    await expect(run(guard, READ_IN_TX, ioFailure(counter))).resolves.toBeInstanceOf(
      DatabaseIoError,
    );
    expect(counter.n).toBe(1);
  });

  it('puts every statement behind the database breaker: open → CircuitOpenError, no call', async () => {
    const { guard, policies } = setup();
    policies.get(DATABASE_CIRCUIT).open();
    const fn = jest.fn(async () => 1);
    for (const info of [READ, WRITE, READ_IN_TX]) {
      await expect(run(guard, info, fn)).resolves.toBeInstanceOf(CircuitOpenError);
    }
    expect(fn).not.toHaveBeenCalled();
  });
});

describe('DatabaseExceptionHandler', () => {
  it.each([
    { name: 'DatabaseIoError', error: new DatabaseIoError(), transient: true, failure: true },
    {
      name: 'a raw IO driver error',
      error: new Error('IO Error: No space left on device'),
      transient: true,
      failure: true,
    },
    {
      name: 'DatabaseInvalidatedError',
      error: new DatabaseInvalidatedError(),
      transient: false,
      failure: true,
    },
    {
      name: 'OperationTimeoutError',
      error: new OperationTimeoutError(10),
      transient: true,
      failure: true,
    },
    {
      name: 'TransactionConflictError',
      error: new TransactionConflictError(),
      transient: true,
      failure: false,
    },
    {
      name: 'UniqueViolationError',
      error: new UniqueViolationError(),
      transient: false,
      failure: false,
    },
    { name: 'QuerySyntaxError', error: new QuerySyntaxError(), transient: false, failure: false },
    {
      name: 'CircuitOpenError',
      error: new CircuitOpenError('database', 5),
      transient: false,
      failure: false,
    },
    {
      name: 'a 4xx HttpException',
      error: new BadRequestException(),
      transient: false,
      failure: false,
    },
    {
      name: 'a 5xx HttpException',
      error: new InternalServerErrorException(),
      transient: false,
      failure: true,
    },
  ])('$name: transient $transient, failure $failure', ({ error, transient, failure }) => {
    expect(handler.isTransient(error)).toBe(transient);
    expect(handler.isFailure(error)).toBe(failure);
  });

  it('turns a cockatiel TaskCancelledError into OperationTimeoutError', () => {
    expect(handler.classify(new TaskCancelledError('late'))).toBeInstanceOf(OperationTimeoutError);
  });

  it('passes typed and non-database errors through unchanged', () => {
    const typed = new UniqueViolationError();
    const plain = new Error('application bug');
    expect(handler.classify(typed)).toBe(typed);
    expect(handler.classify(plain)).toBe(plain);
  });
});
