import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../process/server-process';
import { APP_ENV_VARIABLES } from '../../apps/api/src/config/app-config';

/** How one run of the tool ended, and what it printed. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Longest a single run may take (direct mode compiles the application with ts-node). */
const RUN_TIMEOUT_MS = 60_000;

/**
 * Variables that would change what the tool does; removed from the inherited environment so a
 * developer's shell cannot change a test. Each run sets the ones it needs.
 */
const CLEARED: readonly RegExp[] = [
  ...APP_ENV_VARIABLES.map((name) => new RegExp(`^${name}$`)),
  /^MODEL_CONFIGS_/,
  /^(NO_COLOR|FORCE_COLOR|UV_THREADPOOL_SIZE|INIT_CWD|npm_lifecycle_event)$/,
];

/** The environment of a run: the inherited one without {@link CLEARED}, plus `env`. */
export function cliEnv(env: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const result: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!CLEARED.some((pattern) => pattern.test(name))) result[name] = value;
  }
  Object.assign(result, {
    TS_NODE_PROJECT: join(REPO_ROOT, 'tsconfig.json'),
    TS_NODE_TRANSPILE_ONLY: 'true',
  });
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete result[name];
    else result[name] = value;
  }
  return result;
}

/**
 * Runs the tool as `npm run cli` does (ts-node from source, path aliases registered), without
 * npm's own start-up cost, and collects its output. `input` is written to its stdin.
 */
export function runCli(
  args: string[],
  options: { env?: Record<string, string | undefined>; input?: string } = {},
): Promise<CliRun> {
  const child = spawn(
    process.execPath,
    [
      '-r',
      'ts-node/register/transpile-only',
      '-r',
      'tsconfig-paths/register',
      'apps/cli/src/main.ts',
      ...args,
    ],
    { cwd: REPO_ROOT, env: cliEnv(options.env), stdio: ['pipe', 'pipe', 'pipe'] },
  );
  return collect(child, options.input);
}

/** Runs `npm run -s cli -- …args` itself (the documented entry point). */
export function runNpmCli(args: string[]): Promise<CliRun> {
  const child = spawn('npm', ['run', '-s', 'cli', '--', ...args], {
    cwd: REPO_ROOT,
    env: cliEnv(),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return collect(child);
}

function collect(child: ReturnType<typeof spawn>, input?: string): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin?.end(input);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`The tool did not exit within ${RUN_TIMEOUT_MS} ms\n${stdout}\n${stderr}`));
    }, RUN_TIMEOUT_MS);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A readable failure message: the run's exit code and output. */
export function describeRun(run: CliRun): string {
  return `exit ${run.code}\n--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`;
}
