import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { type Browser, type BrowserContext, type Page, chromium } from 'playwright-core';

const REPO_ROOT = resolve(__dirname, '..', '..');
const VITE_BIN = join(REPO_ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
const VITE_CONFIG = join(REPO_ROOT, 'apps', 'admin', 'vite.config.mts');
const SCREENSHOTS = join(REPO_ROOT, 'docs', 'screenshots');

/** Debian's Chromium (`apt-get install chromium`; `.ci/run` installs it). Never downloaded. */
export const CHROMIUM = '/usr/bin/chromium';
/** Whether the browser tests can run here. */
export const chromiumInstalled = existsSync(CHROMIUM);
/** Under CI a missing browser fails the tests; elsewhere they are skipped with a message. */
export const browserRequired = process.env.CI === 'true';

/**
 * Builds the admin page with Vite (the same config as `npm run build`) into `outDir`, in a child
 * process (Vite is an ES module, which Jest's module registry cannot load), and returns the gzipped
 * size of its JavaScript.
 */
export function buildAdmin(outDir: string): { jsGzipBytes: number } {
  execFileSync(
    process.execPath,
    [VITE_BIN, 'build', '--config', VITE_CONFIG, '--outDir', outDir, '--emptyOutDir'],
    { cwd: REPO_ROOT, stdio: 'pipe', env: { ...process.env, NODE_ENV: 'production' } },
  );
  const assets = join(outDir, 'assets');
  let jsGzipBytes = 0;
  for (const name of readdirSync(assets).filter((file) => file.endsWith('.js'))) {
    jsGzipBytes += gzipSync(readFileSync(join(assets, name)), { level: 9 }).length;
  }
  return { jsGzipBytes };
}

/** Launches headless Chromium; fails with a clear message when it is not installed. */
export async function launchChromium(): Promise<Browser> {
  if (!chromiumInstalled) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (.ci/run does).`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** Where a page sends requests: every URL it asked for, with its method and headers. */
export interface Sent {
  method: string;
  url: string;
  headers: Record<string, string>;
}

/** A page of its own context (own sessionStorage) that records every request it makes. */
export async function openPage(
  browser: Browser,
  options: { width?: number } = {},
): Promise<{ context: BrowserContext; page: Page; sent: Sent[] }> {
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1100, height: 800 },
    reducedMotion: 'reduce',
  });
  const page = await context.newPage();
  const sent: Sent[] = [];
  page.on('request', (request) =>
    sent.push({ method: request.method(), url: request.url(), headers: request.headers() }),
  );
  return { context, page, sent };
}

/**
 * Saves a screenshot of the page to docs/screenshots/<name>.png, only with
 * `UPDATE_SCREENSHOTS=1` (a normal run leaves the tree as it is).
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env.UPDATE_SCREENSHOTS !== '1') return;
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Types the API key into the page's key form (kept in sessionStorage by the page). */
export async function useKey(page: Page, key: string): Promise<void> {
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Use key' }).click();
  await page.getByText('API key set for this tab.').waitFor();
}

/** Whether the app serves the change stream (`GET /api/v1/events`, Server-Sent Events). */
export async function eventsRouteExists(url: string): Promise<boolean> {
  const controller = new AbortController();
  try {
    const response = await fetch(`${url}/api/v1/events`, { signal: controller.signal });
    return (
      response.status === 200 &&
      (response.headers.get('content-type') ?? '').startsWith('text/event-stream')
    );
  } catch {
    return false;
  } finally {
    controller.abort();
  }
}

/**
 * Run in the page (the test's TypeScript has no DOM types): every input without a label and every
 * button without a name.
 */
const UNLABELLED = `(() => {
  const problems = [];
  for (const field of document.querySelectorAll('input, textarea, select')) {
    if (field.labels.length === 0 && !field.getAttribute('aria-label')) {
      problems.push('input ' + (field.id || field.outerHTML));
    }
  }
  for (const button of document.querySelectorAll('button')) {
    const name = button.getAttribute('aria-label') || button.textContent || '';
    if (name.trim() === '') problems.push('button ' + button.outerHTML);
  }
  return problems;
})()`;

/** Every input without a label and every button without a name on the page (should be none). */
export function unlabelled(page: Page): Promise<string[]> {
  return page.evaluate<string[]>(UNLABELLED);
}

/** Retries `check` (an assertion) until it passes or `timeoutMs` is over, then throws its error. */
export async function eventually(check: () => Promise<void>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolveWait) => setTimeout(resolveWait, 100));
    }
  }
}
