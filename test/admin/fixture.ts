import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { ApiClient } from '../support/api';
import { type TestApp, startTestApp } from '../support/test-app';
import {
  type Sent,
  browserRequired,
  buildAdmin,
  chromiumInstalled,
  launchChromium,
  openPage,
  useKey,
} from './browser';

/** The write key of the app under test. */
export const KEY = 'admin-page-key-123';
/** The budget for the page's JavaScript, gzipped. */
const MAX_JS_GZIP_BYTES = 150 * 1024;

if (!chromiumInstalled && !browserRequired) {
  console.warn(
    'Admin page browser tests skipped: /usr/bin/chromium is missing (apt-get install chromium).',
  );
}
/** `describe` when Chromium is there or CI requires it (then a missing one fails), else skip. */
export const describeBrowser = chromiumInstalled || browserRequired ? describe : describe.skip;

export interface OpenOptions {
  /** The key typed into the page; null: none. */
  key?: string | null;
  width?: number;
  /** Runs before the page is loaded (e.g. to route requests). */
  before?: (page: Page) => Promise<void>;
}

/** The running app (real HTTP, real DuckDB file, the admin page freshly built) and a browser. */
export interface AdminFixture {
  app: TestApp;
  browser: Browser;
  api: ApiClient;
  /** Opens the admin page at `hash` in a fresh context (own session storage). */
  open(hash?: string, options?: OpenOptions): Promise<{ page: Page; sent: Sent[] }>;
}

/**
 * Registers the hooks of a browser suite: builds the admin page into a temporary directory
 * (asserting its size), starts the app serving it with an API key, launches Chromium; closes
 * every page after each test.
 */
export function useAdminFixture(): AdminFixture {
  const dist = mkdtempSync(join(tmpdir(), 'admin-dist-'));
  const pages: Page[] = [];
  const fixture = {} as AdminFixture;
  beforeAll(async () => {
    const { jsGzipBytes } = buildAdmin(dist);
    console.log(`Admin page JavaScript: ${(jsGzipBytes / 1024).toFixed(1)} KiB gzipped`);
    expect(jsGzipBytes).toBeLessThan(MAX_JS_GZIP_BYTES);
    fixture.app = await startTestApp({ API_KEY: KEY, ADMIN_DIST_DIR: dist });
    fixture.api = new ApiClient(fixture.app.url, { 'X-API-Key': KEY });
    fixture.browser = await launchChromium();
  });
  afterEach(async () => {
    for (const page of pages.splice(0)) await page.context().close();
  });
  afterAll(async () => {
    await fixture.browser?.close();
    await fixture.app?.close();
    rmSync(dist, { recursive: true, force: true });
  });
  fixture.open = async (hash = '#/', options = {}) => {
    const opened = await openPage(fixture.browser, { width: options.width });
    pages.push(opened.page);
    await options.before?.(opened.page);
    await opened.page.goto(`${fixture.app.url}/admin/${hash}`);
    const key = options.key === undefined ? KEY : options.key;
    if (key !== null) await useKey(opened.page, key);
    return opened;
  };
  return fixture;
}

/** A config's row in the chain view. */
export const chainRow = (page: Page, modelId: string) =>
  page.locator(`li.chain-item[data-model-id="${modelId}"]`);
