// Drives the router's GraphQL explorer in headless Chromium with every non-loopback request
// refused (no internet), runs a query through it, and prints one JSON line with what happened.
//
//   ROUTER_DIR=router CHROMIUM=/usr/bin/chromium node tests/e2e/explorer.mjs http://127.0.0.1:4000/graphql QUERY
//
// playwright-core (router/package.json devDependencies) is only the driver: it downloads no
// browser; Debian's chromium is used.
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const [url, query] = process.argv.slice(2);
const require = createRequire(join(resolve(process.env.ROUTER_DIR ?? 'router'), 'package.json'));
const { chromium } = require('playwright-core');
const STEP_TIMEOUT = Number(process.env.STEP_TIMEOUT_MS ?? 60_000);

const result = { loaded: false, external: [], pageErrors: [], posted: [], response: null, shown: false };
const profile = mkdtempSync(join(tmpdir(), 'explorer-profile-'));
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    timeout: STEP_TIMEOUT,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
    ],
  });
  // The offline condition: anything but the router's own address is refused, and recorded.
  const origin = new URL(url).origin;
  await context.route('**/*', (route) => {
    const requested = route.request().url();
    if (requested.startsWith(`${origin}/`) || requested.startsWith('data:') || requested.startsWith('blob:')) {
      return route.continue();
    }
    result.external.push(requested);
    return route.abort('internetdisconnected');
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(STEP_TIMEOUT);
  page.on('pageerror', (error) => result.pageErrors.push(String(error.message).slice(0, 300)));
  page.on('request', (request) => {
    if (request.method() === 'POST' && request.url().startsWith(url)) {
      result.posted.push((request.postData() ?? '').slice(0, 300));
    }
  });

  await page.goto(url, { waitUntil: 'load', timeout: STEP_TIMEOUT });
  // Hive Laboratory: a new operation tab, the query typed into its editor, then Run.
  await page.getByRole('button', { name: 'Add operation' }).first().click();
  const editor = page.getByRole('textbox', { name: 'Editor content' }).first();
  await editor.waitFor();
  result.loaded = true;
  await editor.focus();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Delete');
  await page.keyboard.type(query);
  const answered = page.waitForResponse(
    (response) => response.url().startsWith(url) && (response.request().postData() ?? '').includes('__typename'),
  );
  await page.getByRole('button', { name: 'Run', exact: true }).first().click();
  const response = await answered;
  result.response = await response.json();
  // The answer is on screen, not just on the wire.
  await page.getByText('UNAUTHENTICATED').first().waitFor();
  result.shown = true;
} catch (error) {
  result.error = String(error?.message ?? error).slice(0, 2000);
} finally {
  await context?.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
}
process.stdout.write(`${JSON.stringify(result)}\n`);
