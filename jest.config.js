/** @type {import('jest').Config} */
const moduleNameMapper = {
  '^@lib/(common|duckdb|health|transactions|query-cache|resilience|observability)$': '<rootDir>/libs/$1/src',
  // Testing entry points (helpers for specs and e2e tests), like @nestjs/testing.
  '^@lib/(common|transactions|query-cache)/testing$': '<rootDir>/libs/$1/src/testing',
  '^@model-configs/client$': '<rootDir>/libs/client/src',
};
const transform = { '^.+\\.ts$': ['ts-jest', {}] };
const common = { testEnvironment: 'node', moduleFileExtensions: ['ts', 'js', 'json'], moduleNameMapper, transform };

module.exports = {
  projects: [
    { ...common, displayName: 'unit', rootDir: '.', testMatch: ['<rootDir>/{apps,libs}/**/*.spec.ts'] },
    { ...common, displayName: 'e2e', rootDir: '.', testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'] },
  ],
};
