// A real redis-server for tests lives in @lib/query-cache's testing entry point.
export * from '@lib/query-cache/testing';
