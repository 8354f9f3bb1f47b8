// DuckDB + transactions testing modules live in @lib/transactions' testing entry point.
export * from '@lib/transactions/testing';
