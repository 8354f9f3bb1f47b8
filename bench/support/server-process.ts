import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import ts from 'typescript';
import { APP_ENV_VARIABLES } from '../../apps/api/src/config/app-config';

/** The repository root: the working directory of the spawned server. */
export const REPO_ROOT = resolve(__dirname, '..', '..');

/**
 * Variables the app reads (API.md §4): removed from the inherited environment so that the shell
 * running the benchmark cannot change what it measures; the benchmark sets the ones it needs.
 */
const APP_VARIABLES = [...APP_ENV_VARIABLES, 'UV_THREADPOOL_SIZE'];

/** Output kept from the child, per stream (the tail; enough for a failure message). */
const KEEP_OUTPUT_CHARS = 64 * 1024;

/** Where {@link buildApp} compiles the app of `root` (git-ignored, next to the results). */
export const buildDir = (root: string): string => join(root, 'bench', 'results', 'app-build');

/** A compiled app: what {@link spawnApp} runs with `build`. */
export interface AppBuild {
  /** The checkout it was built from: the server's working directory. */
  root: string;
  /** `main.js`. */
  entry: string;
  /** A tsconfig whose `paths` map the `@lib/*` aliases into the build. */
  tsconfig: string;
  /** Preload modules compiled into the build, by source path. */
  preload: Map<string, string>;
}

/**
 * Compiles the app as `npm run build` does (tsc with `tsconfig.build.json`, the SQL migrations
 * copied next to the code), but into {@link buildDir}, so that it runs without ts-node (whose
 * compiler would sit in the heap being measured) and without touching `dist/`. `root` may be
 * another checkout (with `node_modules` reachable from it), e.g. an unchanged copy to compare
 * against. Preload modules (TypeScript under `bench/`) are transpiled alongside.
 * Type errors do not stop the build (tsc emits anyway), as with ts-node. `out` (default
 * {@link buildDir}) is deleted first: a benchmark whose processes run from a build while another
 * benchmark may rebuild gives its own folder.
 */
export function buildApp(
  preload: readonly string[] = [],
  root = REPO_ROOT,
  out = buildDir(root),
): AppBuild {
  rmSync(out, { recursive: true, force: true });
  try {
    execFileSync(
      process.execPath,
      [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', out],
      { cwd: root, stdio: 'pipe' },
    );
  } catch {
    // Type errors: the JavaScript was emitted all the same.
  }
  const migrations = join('apps', 'api', 'src', 'model-configs', 'migrations');
  cpSync(join(root, migrations), join(out, migrations), { recursive: true });
  const base = JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8')) as {
    compilerOptions: { paths: Record<string, string[]> };
  };
  const tsconfig = join(out, 'tsconfig.json');
  writeFileSync(
    tsconfig,
    JSON.stringify({ compilerOptions: { baseUrl: '.', paths: base.compilerOptions.paths } }),
  );
  const compiled = new Map<string, string>();
  for (const source of preload) {
    const target = join(out, source.slice(REPO_ROOT.length + 1)).replace(/\.ts$/, '.js');
    const { outputText } = ts.transpileModule(readFileSync(source, 'utf8'), {
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        esModuleInterop: true,
      },
    });
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, outputText);
    compiled.set(source, target);
  }
  return { root, entry: join(out, 'apps', 'api', 'src', 'main.js'), tsconfig, preload: compiled };
}

/**
 * The `node` flags of `npm start` (`scripts.start` in package.json, e.g. `--max-old-space-size`),
 * so that the app runs here as it runs in production.
 */
export function startScriptNodeFlags(root = REPO_ROOT): string[] {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    scripts?: Record<string, string>;
  };
  const words = (pkg.scripts?.start ?? '').split(/\s+/);
  const node = words.indexOf('node');
  if (node < 0) return [];
  const flags: string[] = [];
  for (const word of words.slice(node + 1)) {
    if (!word.startsWith('-')) break;
    flags.push(word);
  }
  return flags;
}

/** Options of {@link spawnApp}. */
export interface SpawnAppOptions {
  port: number;
  dbPath: string;
  /** App variables (a value of `undefined` removes one). */
  env: Record<string, string | undefined>;
  /** Extra `node` options, e.g. `--expose-gc`. */
  nodeOptions?: readonly string[];
  /** Modules preloaded with `-r` (an IPC channel is opened when there are any). */
  preload?: readonly string[];
  /** Run this build; without one, `main.ts` runs from source with ts-node, like the tests. */
  build?: AppBuild;
}

/** The real app in a child process. */
export interface AppProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly baseUrl: string;
  /** Set once the process has exited. */
  exitCode(): number | null | undefined;
  readonly exited: Promise<void>;
  /** The tail of stdout and stderr. */
  output(): string;
}

/**
 * Spawns the app, compiled ({@link buildApp}) or from source with ts-node (transpile only), with
 * tsconfig paths; does not wait for it.
 */
export function spawnApp(options: SpawnAppOptions): AppProcess {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of APP_VARIABLES) delete env[name];
  Object.assign(env, {
    PORT: String(options.port),
    HOST: '127.0.0.1',
    DUCKDB_PATH: options.dbPath,
    NO_COLOR: '1',
    TS_NODE_PROJECT: options.build?.tsconfig ?? join(REPO_ROOT, 'tsconfig.json'),
    TS_NODE_TRANSPILE_ONLY: 'true',
  });
  for (const [name, value] of Object.entries(options.env)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  const build = options.build;
  const preload = (options.preload ?? []).flatMap((module) => [
    '-r',
    build?.preload.get(module) ?? module,
  ]);
  const child = spawn(
    process.execPath,
    [
      ...(options.nodeOptions ?? []),
      ...(build ? [] : ['-r', 'ts-node/register/transpile-only']),
      '-r',
      'tsconfig-paths/register',
      ...preload,
      build?.entry ?? 'apps/api/src/main.ts',
    ],
    {
      cwd: build?.root ?? REPO_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe', ...(preload.length > 0 ? ['ipc' as const] : [])],
    },
  );
  let out = '';
  let err = '';
  const keep = (text: string, chunk: string) => (text + chunk).slice(-KEEP_OUTPUT_CHARS);
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (out = keep(out, chunk)));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (err = keep(err, chunk)));
  let code: number | null | undefined;
  const exited = new Promise<void>((resolveExit) => {
    child.once('exit', (exitCode) => {
      code = exitCode;
      resolveExit();
    });
    child.once('error', () => {
      code ??= -1;
      resolveExit();
    });
  });
  return {
    child,
    pid: child.pid ?? -1,
    baseUrl: `http://127.0.0.1:${options.port}`,
    exitCode: () => code,
    exited,
    output: () => `--- stdout (tail) ---\n${out}\n--- stderr (tail) ---\n${err}`,
  };
}

/** Resident set size of a process in bytes (`VmRSS` of `/proc/<pid>/status`), if readable. */
export function readRss(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
