export { compileWithDuckDb, type DuckDbTestingModule } from './duckdb-testing';
export { withRollback } from '../with-rollback';
