// Drives `ferroflux ui` in headless Chromium (Debian's, through
// playwright-core) for crates/cli/tests/it/ui.rs. Talks to the test over
// stdio: prints `PUSH` when the page is open and waiting for a new commit,
// reads the commit's hash back, and prints `DONE` when every check passed.
// Any failed check throws, which exits non-zero with the reason.
import { createRequire } from 'node:module';
import readline from 'node:readline';

const require = createRequire(process.env.PLAYWRIGHT_DIR + '/');
const { chromium } = require('playwright-core');

const env = (k) => { const v = process.env[k]; if (!v) throw new Error(`${k} is not set`); return v; };
const URL_RO = env('UI_URL');
const URL_RW = env('UI_ACTIONS_URL');
const BROKEN_MESSAGE = env('BROKEN_MESSAGE');
const TIMEOUT = 30000;

const lines = readline.createInterface({ input: process.stdin });
const nextLine = () => new Promise((resolve) => lines.once('line', resolve));
const check = (ok, what) => { if (!ok) throw new Error(`check failed: ${what}`); };

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true });
try {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.setDefaultTimeout(TIMEOUT);
  await page.goto(URL_RO);
  const row = (key) => page.locator(`tr[data-key="${key}"]`);

  // The overview lists the objects with their status; failing first.
  await row('Kustomization/flux-system/apps').locator('.c-ready', { hasText: 'True' }).waitFor();
  await row('GitRepository/flux-system/app').locator('.c-ready', { hasText: 'True' }).waitFor();
  await row('Kustomization/flux-system/broken').locator('.c-ready', { hasText: 'False' }).waitFor();
  // (Waited for: the controller may be retrying it, Reconciling, when the page opens.)
  await page.locator('tr[data-key="Kustomization/flux-system/broken"][data-state="failing"]').waitFor();
  await page.locator('tr[data-key="Kustomization/flux-system/apps"][data-state="ready"]').waitFor();
  const first = await page.locator('#overview tbody tr').first().getAttribute('data-key');
  check(first === 'Kustomization/flux-system/broken', `failing first, got ${first}`);
  // The failing Kustomization's message is shown.
  await row('Kustomization/flux-system/broken').locator('.c-message', { hasText: BROKEN_MESSAGE }).waitFor();
  // Filters: by status.
  await page.selectOption('#f-status', 'failing');
  check(await page.locator('#overview tbody tr').count() === 1, 'the failing filter leaves one row');
  await page.selectOption('#f-status', '');

  // A pushed commit shows on the open page without a reload.
  await page.evaluate(() => { window.__sameDocument = true; });
  console.log('PUSH');
  const sha = (await nextLine()).trim();
  check(/^[0-9a-f]{40}$/.test(sha), `a commit hash, got ${sha}`);
  await row('GitRepository/flux-system/app').locator('.c-revision', { hasText: `main@sha1:${sha.slice(0, 8)}` }).waitFor();
  await row('Kustomization/flux-system/apps').locator('.c-revision', { hasText: `main@sha1:${sha.slice(0, 8)}` }).waitFor();
  check(await page.evaluate(() => window.__sameDocument === true), 'the page was not reloaded');

  // The graph: source -> Kustomization -> its inventory, coloured by health.
  await page.click('#nav-graph');
  const inv = page.locator('#graph g.node[data-id="ConfigMap/default/settings"]');
  await inv.waitFor();
  check(await inv.getAttribute('data-health') === 'Current', 'the ConfigMap is healthy');
  await page.locator('#graph path.edge[data-from="GitRepository/flux-system/app"][data-to="Kustomization/flux-system/apps"]').waitFor({ state: 'attached' });
  await page.locator('#graph path.edge[data-from="Kustomization/flux-system/apps"][data-to="ConfigMap/default/settings"]').waitFor({ state: 'attached' });
  check(await page.locator('#graph g.node[data-id="Kustomization/flux-system/broken"]').getAttribute('data-health') === 'Failed', 'broken is red');
  // Click through to the object page: conditions, inventory, events.
  await page.click('#graph g.node[data-id="Kustomization/flux-system/apps"]');
  await page.locator('table.inventory td', { hasText: 'settings' }).waitFor();
  await page.locator('table.inventory .c-health', { hasText: 'Current' }).waitFor();
  await page.locator('table.conditions td', { hasText: 'Ready' }).first().waitFor();
  await page.locator('#obj-revision', { hasText: sha }).waitFor();
  check(await page.evaluate(() => window.__sameDocument === true), 'navigation stayed in the page');
  // No action buttons without --allow-actions.
  check(await page.locator('button[data-action]').count() === 0, 'no action buttons without the flag');
  await page.goto(`${URL_RO}#/object/Kustomization/flux-system/broken`);
  await page.locator('#obj-message', { hasText: BROKEN_MESSAGE }).waitFor();
  check(await page.locator('button[data-action]').count() === 0, 'no action buttons on a failing object either');

  // With --allow-actions: Reconcile asks for a reconcile (the test checks the cluster).
  const rw = await browser.newPage();
  rw.setDefaultTimeout(TIMEOUT);
  rw.on('pageerror', (e) => errors.push(String(e)));
  await rw.goto(`${URL_RW}#/object/Kustomization/flux-system/apps`);
  await rw.locator('button[data-action="reconcile"]').click();
  await rw.locator('#flash', { hasText: 'reconcile requested at' }).waitFor();
  const flash = await rw.locator('#flash').textContent();
  console.log(`RECONCILED ${flash.replace('reconcile requested at ', '').trim()}`);
  check(await rw.locator('button[data-action="suspend"]').count() === 1, 'a suspend button');
  check(errors.length === 0, `no script errors: ${errors.join('; ')}`);
  console.log('DONE');
} finally {
  await browser.close();
  lines.close();
}
