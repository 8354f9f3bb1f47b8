import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';
import { type AppBuild, buildApp, buildDir, REPO_ROOT } from '../support/server-process';

/** The hand-written server's sources (every `.ts` of `bench/handwritten`). */
export const HANDWRITTEN_DIR = join(REPO_ROOT, 'bench', 'handwritten');
export const HANDWRITTEN_ENTRY = join(HANDWRITTEN_DIR, 'main.ts');
/** Raw Fastify serving fixed JSON bodies. */
export const RAW_FASTIFY_ENTRY = join(__dirname, 'raw-fastify.main.ts');
/** A bare Nest + Fastify app serving the same fixed bodies from controllers. */
export const BARE_NEST_ENTRY = join(__dirname, 'bare-nest.main.ts');

/** The compiled app, and the compiled benchmark servers by source path. */
export interface ServerBuild {
  app: AppBuild;
  entries: Map<string, string>;
}

/**
 * Compiles the app ({@link buildApp}: tsc into `bench/results/app-build`), then the benchmark's own
 * servers next to it with the repository's compiler options (decorators included), so that every
 * server runs as plain JavaScript, none under ts-node. A server under `bench/` importing the app
 * (`../../apps/…`) finds the compiled app at the same relative path.
 */
export function buildServers(extra: readonly string[] = []): ServerBuild {
  const app = buildApp();
  const sources = [
    ...readdirSync(HANDWRITTEN_DIR)
      .filter((name) => name.endsWith('.ts'))
      .map((name) => join(HANDWRITTEN_DIR, name)),
    ...extra,
  ];
  const config = ts.readConfigFile(join(REPO_ROOT, 'tsconfig.json'), (path) =>
    readFileSync(path, 'utf8'),
  );
  const { options } = ts.convertCompilerOptionsFromJson(
    (config.config as { compilerOptions: unknown }).compilerOptions,
    REPO_ROOT,
  );
  const entries = new Map<string, string>();
  for (const source of sources) {
    const target = join(buildDir(app.root), relative(REPO_ROOT, source)).replace(/\.ts$/, '.js');
    const { outputText } = ts.transpileModule(readFileSync(source, 'utf8'), {
      compilerOptions: { ...options, sourceMap: false, module: ts.ModuleKind.CommonJS },
      fileName: source,
    });
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, outputText);
    entries.set(source, target);
  }
  return { app, entries };
}
