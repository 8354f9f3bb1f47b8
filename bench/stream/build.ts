import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';
import { RESULTS_DIR } from '../support/report';
import { type AppBuild, REPO_ROOT } from '../support/server-process';

/**
 * This benchmark's own build folder. `buildApp` always rebuilds the shared
 * `bench/results/app-build`, deleting it first: a benchmark started meanwhile by someone else
 * would delete the files of ours (the subscriber process is forked from them in every phase), and
 * ours theirs.
 */
export const STREAM_BUILD_DIR = join(RESULTS_DIR, 'stream-build');

/**
 * Compiles the app as `buildApp` does (tsc with `tsconfig.build.json`, the SQL migrations copied,
 * a tsconfig whose `paths` map the `@lib/*` aliases into the build), but into
 * {@link STREAM_BUILD_DIR}; `extra` TypeScript files under `bench/` are transpiled alongside and
 * returned in `preload`. Type errors do not stop the build (tsc emits anyway).
 */
export function buildStreamApp(extra: readonly string[]): AppBuild {
  const out = STREAM_BUILD_DIR;
  rmSync(out, { recursive: true, force: true });
  try {
    execFileSync(
      process.execPath,
      [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', out],
      { cwd: REPO_ROOT, stdio: 'pipe' },
    );
  } catch {
    // Type errors: the JavaScript was emitted all the same.
  }
  const migrations = join('apps', 'api', 'src', 'model-configs', 'migrations');
  cpSync(join(REPO_ROOT, migrations), join(out, migrations), { recursive: true });
  const base = JSON.parse(readFileSync(join(REPO_ROOT, 'tsconfig.json'), 'utf8')) as {
    compilerOptions: { paths: Record<string, string[]> };
  };
  const tsconfig = join(out, 'tsconfig.json');
  writeFileSync(
    tsconfig,
    JSON.stringify({ compilerOptions: { baseUrl: '.', paths: base.compilerOptions.paths } }),
  );
  const compiled = new Map<string, string>();
  for (const source of extra) {
    const target = join(out, relative(REPO_ROOT, source)).replace(/\.ts$/, '.js');
    const { outputText } = ts.transpileModule(readFileSync(source, 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
      fileName: source,
    });
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, outputText);
    compiled.set(source, target);
  }
  return {
    root: REPO_ROOT,
    entry: join(out, 'apps', 'api', 'src', 'main.js'),
    tsconfig,
    preload: compiled,
  };
}
