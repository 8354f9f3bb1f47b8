import { join } from 'node:path';
import { RESULTS_DIR } from '../support/report';
import { type AppBuild, REPO_ROOT, buildApp } from '../support/server-process';

/**
 * This benchmark's own build folder. `buildApp` deletes its folder before it builds: a benchmark
 * started meanwhile by someone else would delete the files of ours (the subscriber process is
 * forked from them in every phase), and ours theirs.
 */
export const STREAM_BUILD_DIR = join(RESULTS_DIR, 'stream-build');

/** The app and the `extra` TypeScript files under `bench/`, built into {@link STREAM_BUILD_DIR}. */
export function buildStreamApp(extra: readonly string[]): AppBuild {
  return buildApp(extra, REPO_ROOT, STREAM_BUILD_DIR);
}
