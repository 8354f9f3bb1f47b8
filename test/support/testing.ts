// The shared test helpers live in @lib/common's testing entry point; e2e specs import them here.
export * from '@lib/common/testing';
