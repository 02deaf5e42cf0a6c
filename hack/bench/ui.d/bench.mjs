// Driver of hack/bench/ui: writes the objects through the API (kubeconfig's
// server and token), starts `ferroflux ui`, measures, prints the figures.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(process.env.PLAYWRIGHT_DIR + '/');
const { chromium } = require('playwright-core');
const N = Number(process.env.N || 1000);
const kubeconfig = readFileSync(process.env.KUBECONFIG, 'utf8');
const server = kubeconfig.match(/server:\s*(\S+)/)[1].replace(/\/$/, '');
const token = kubeconfig.match(/token:\s*(\S+)/)[1].replace(/^["']|["']$/g, '');
const auth = { authorization: `Bearer ${token}` };

async function call(method, path, body, type = 'application/json') {
  const r = await fetch(server + path, { method, headers: { ...auth, 'content-type': type }, body: body && JSON.stringify(body) });
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  return r.json();
}

async function pool(items, size, f) {
  let i = 0;
  await Promise.all(Array.from({ length: size }, async () => { while (i < items.length) await f(items[i++]); }));
}

const cond = (ok, msg) => [{ type: 'Ready', status: ok ? 'True' : 'False', reason: ok ? 'ReconciliationSucceeded' : 'BuildFailed',
  message: msg, lastTransitionTime: new Date().toISOString(), observedGeneration: 1 }];
const sha = (i) => (i.toString(16).padStart(8, '0')).repeat(5);

await call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench' } });
const sources = Math.max(1, Math.floor(N / 10));
let t = Date.now();
await pool([...Array(sources).keys()], 16, async (i) => {
  const base = '/apis/source.toolkit.fluxcd.io/v1/namespaces/bench/gitrepositories';
  await call('POST', base, { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository',
    metadata: { name: `repo-${i}`, namespace: 'bench' }, spec: { url: `https://example.com/repo-${i}.git`, interval: '1h', ref: { branch: 'main' } } });
  await call('PATCH', `${base}/repo-${i}/status`, { status: { observedGeneration: 1, conditions: cond(true, `stored artifact for revision 'main@sha1:${sha(i)}'`),
    artifact: { revision: `main@sha1:${sha(i)}`, digest: `sha256:${sha(i)}${sha(i).slice(0, 24)}`, path: 'x', url: 'http://x', size: 1234, lastUpdateTime: new Date().toISOString() } } },
    'application/merge-patch+json');
});
await pool([...Array(N).keys()], 16, async (i) => {
  const base = '/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/bench/kustomizations';
  const src = i % sources;
  await call('POST', base, { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization',
    metadata: { name: `app-${i}`, namespace: 'bench' },
    spec: { interval: '10m', path: `./apps/${i}`, prune: true, sourceRef: { kind: 'GitRepository', name: `repo-${src}` } } });
  const failing = i % 10 === 3;
  await call('PATCH', `${base}/app-${i}/status`, { status: { observedGeneration: 1,
    conditions: cond(!failing, failing ? `kustomization path not found: ./apps/${i}` : `Applied revision: main@sha1:${sha(src)}`),
    lastAppliedRevision: `main@sha1:${sha(src)}`, lastAttemptedRevision: `main@sha1:${sha(src)}`,
    inventory: { entries: [
      { id: `bench_app-${i}_apps_Deployment`, v: 'v1' }, { id: `bench_app-${i}__Service`, v: 'v1' }, { id: `bench_app-${i}__ConfigMap`, v: 'v1' }] } } },
  'application/merge-patch+json');
});
const total = N + sources;
console.log(`wrote ${N} Kustomizations and ${sources} GitRepositories with status in ${((Date.now() - t) / 1000).toFixed(1)} s`);

t = Date.now();
const ui = spawn(process.env.FERROFLUX, ['ui', '--addr', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'inherit'] });
const url = await new Promise((resolve, reject) => {
  let buf = '';
  ui.stdout.on('data', (d) => { buf += d; const m = buf.match(/serving the dashboard on (\S+)/); if (m) resolve(m[1]); });
  ui.on('exit', (c) => reject(new Error(`ferroflux ui exited ${c}`)));
});
for (;;) {
  const o = await (await fetch(url + 'api/overview')).json();
  if (o.synced && o.objects.length >= total) break;
  await new Promise((r) => setTimeout(r, 20));
}
console.log(`ferroflux ui: every object watched ${((Date.now() - t) / 1000).toFixed(2)} s after start`);

const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const http = [];
for (let k = 0; k < 5; k++) {
  const s = performance.now();
  const [page, js, css, ov] = await Promise.all(['', 'app.js', 'app.css', 'api/overview'].map((p) => fetch(url + p).then((r) => r.text())));
  const rows = JSON.parse(ov).objects.length;
  if (rows !== total || !page.includes('app.js') || !js.length || !css.length) throw new Error('incomplete overview');
  http.push(performance.now() - s);
}
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true });
const loads = [];
for (let k = 0; k < 3; k++) {
  const page = await browser.newPage();
  const s = performance.now();
  await page.goto(url);
  await page.waitForFunction((n) => document.querySelectorAll('#overview tbody tr').length === n, total, { timeout: 60000, polling: 'raf' });
  loads.push(performance.now() - s);
  await page.close();
}
await browser.close();
const status = readFileSync(`/proc/${ui.pid}/status`, 'utf8');
const hwm = Number(status.match(/VmHWM:\s*(\d+)/)[1]) / 1024;
const rss = Number(status.match(/VmRSS:\s*(\d+)/)[1]) / 1024;
ui.kill('SIGINT');
console.log(`overview over HTTP (page + app.js + app.css + /api/overview, ${total} rows): median ${median(http).toFixed(0)} ms of 5 [${http.map((x) => x.toFixed(0)).join(', ')}]`);
console.log(`overview in Chromium (new tab, navigation until all ${total} rows are drawn): median ${median(loads).toFixed(0)} ms of 3 [${loads.map((x) => x.toFixed(0)).join(', ')}]`);
console.log(`ferroflux ui peak RSS ${hwm.toFixed(1)} MiB (now ${rss.toFixed(1)} MiB)`);
