// Ferroflux dashboard: vanilla JS, no framework, no network beyond this server.
// Every value from the cluster is written with textContent, never as HTML.
'use strict';

const rows = new Map(); // "Kind/ns/name" -> row
let allowActions = false;
let synced = false;
let current = { view: 'overview' };
let refreshTimer = null;

const $ = (sel) => document.querySelector(sel);
const keyOf = (r) => `${r.kind}/${r.namespace}/${r.name}`;
const shortRev = (s) => (s || '').replace(/\b([0-9a-f]{40,128})\b/g, (m) => m.slice(0, 8));

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function svg(tag, attrs) {
  const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

async function getJSON(url) {
  const r = await fetch(url, { headers: { accept: 'application/json' } });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.error || `${r.status} ${r.statusText}`);
  return body;
}

function ago(t) {
  if (!t) return '';
  const s = Math.round((Date.now() - Date.parse(t)) / 1000);
  if (!isFinite(s)) return t;
  if (s < 60) return `${Math.max(s, 0)}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

// ---- overview ----------------------------------------------------------

async function loadOverview() {
  const o = await getJSON('/api/overview');
  rows.clear();
  for (const r of o.objects) rows.set(keyOf(r), r);
  allowActions = o.allowActions;
  synced = o.synced;
  const note = $('#sync-note');
  note.hidden = synced && !o.truncated;
  note.textContent = o.truncated ? 'Too many objects: some are not shown.' : 'Still listing the cluster…';
  fillSelect($('#f-namespace'), [...new Set([...rows.values()].map((r) => r.namespace))].sort());
  fillSelect($('#g-namespace'), [...new Set([...rows.values()].map((r) => r.namespace))].sort());
  fillSelect($('#f-kind'), [...new Set([...rows.values()].map((r) => r.kind))].sort());
}

function fillSelect(sel, values) {
  const keep = sel.value;
  while (sel.options.length > 1) sel.remove(1);
  for (const v of values) sel.add(new Option(v, v));
  sel.value = values.includes(keep) ? keep : '';
}

const ORDER = { failing: 0, progressing: 1, suspended: 2, ready: 3 };

function renderOverview() {
  const ns = $('#f-namespace').value, kind = $('#f-kind').value, st = $('#f-status').value;
  const text = $('#f-text').value.trim().toLowerCase();
  const list = [...rows.values()].filter((r) =>
    (!ns || r.namespace === ns) && (!kind || r.kind === kind) && (!st || r.state === st) &&
    (!text || r.name.toLowerCase().includes(text) || r.message.toLowerCase().includes(text)));
  list.sort((a, b) => (ORDER[a.state] - ORDER[b.state]) || a.kind.localeCompare(b.kind) ||
    a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  const body = el('tbody');
  for (const r of list) {
    const k = keyOf(r);
    body.append(el('tr', { 'data-key': k, 'data-state': r.state },
      el('td', { class: 'c-state' }, el('span', { class: `badge s-${r.state}`, text: r.state })),
      el('td', { text: r.kind }),
      el('td', { text: r.namespace }),
      el('td', { class: 'c-name' }, el('a', { href: `#/object/${k}`, text: r.name })),
      el('td', { class: 'c-ready', text: r.ready }),
      el('td', { class: 'c-revision mono', title: r.revision, text: shortRev(r.revision) }),
      el('td', { class: 'c-suspended', text: r.suspended ? 'True' : 'False' }),
      el('td', { class: 'c-change', title: r.lastChange, text: ago(r.lastChange) }),
      el('td', { class: 'c-message', text: r.message })));
  }
  $('#overview tbody').replaceWith(body);
  const failing = [...rows.values()].filter((r) => r.state === 'failing').length;
  $('#counts').textContent = `${list.length} of ${rows.size} objects, ${failing} failing`;
}

// ---- graph -------------------------------------------------------------

async function renderGraph() {
  const ns = $('#g-namespace').value;
  const g = await getJSON('/api/graph' + (ns ? `?namespace=${encodeURIComponent(ns)}` : ''));
  if (current.view !== 'graph') return;
  // Longest-path layering: a node sits one column right of its furthest parent.
  const incoming = new Map(g.nodes.map((n) => [n.id, []]));
  for (const e of g.edges) if (incoming.has(e.to) && incoming.has(e.from)) incoming.get(e.to).push(e.from);
  const layer = new Map();
  const depth = (id, seen) => {
    if (layer.has(id)) return layer.get(id);
    if (seen.has(id)) return 0; // a cycle: cut it here
    seen.add(id);
    const parents = incoming.get(id) || [];
    const d = parents.length ? 1 + Math.max(...parents.map((p) => depth(p, seen))) : 0;
    seen.delete(id);
    layer.set(id, d);
    return d;
  };
  for (const n of g.nodes) depth(n.id, new Set());
  const columns = [];
  for (const n of g.nodes) (columns[layer.get(n.id)] ||= []).push(n);
  const W = 250, H = 38, GX = 80, GY = 10, PAD = 16;
  const pos = new Map();
  columns.forEach((col, i) => {
    col.sort((a, b) => a.kind.localeCompare(b.kind) || a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
    col.forEach((n, j) => pos.set(n.id, { x: PAD + i * (W + GX), y: PAD + j * (H + GY) }));
  });
  const rowsMax = Math.max(1, ...columns.map((c) => (c ? c.length : 0)));
  const root = $('#graph');
  root.replaceChildren();
  root.setAttribute('width', PAD * 2 + Math.max(1, columns.length) * (W + GX));
  root.setAttribute('height', PAD * 2 + rowsMax * (H + GY));
  for (const e of g.edges) {
    const a = pos.get(e.from), b = pos.get(e.to);
    if (!a || !b) continue;
    const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2, mx = (x1 + x2) / 2;
    root.append(svg('path', { class: `edge ${e.type}`, d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`,
      'data-from': e.from, 'data-to': e.to }));
  }
  for (const n of g.nodes) {
    const p = pos.get(n.id);
    const node = svg('g', { class: `node ${n.flux ? 'flux' : 'inv'}`, 'data-id': n.id, 'data-health': n.health.status,
      transform: `translate(${p.x},${p.y})` });
    const title = svg('title');
    title.textContent = `${n.id}\n${n.health.status}: ${n.health.message}`;
    node.append(title, svg('rect', { width: W, height: H, class: `fill-${n.health.status}` }));
    // Two lines: the kind, then namespace/name (names repeat across namespaces).
    const fit = (t) => (t.length > 36 ? t.slice(0, 35) + '…' : t);
    const kindLabel = svg('text', { x: 8, y: 14, class: 'kind' });
    kindLabel.textContent = n.kind;
    const nameLabel = svg('text', { x: 8, y: 30 });
    nameLabel.textContent = fit(n.namespace ? `${n.namespace}/${n.name}` : n.name);
    node.append(kindLabel, nameLabel);
    if (n.flux) node.addEventListener('click', () => { location.hash = `#/object/${n.id}`; });
    root.append(node);
  }
}

// ---- object page -------------------------------------------------------

function kv(pairs) {
  const dl = el('dl', { class: 'kv' });
  for (const [k, v] of pairs) {
    if (v === undefined || v === null || v === '') continue;
    dl.append(el('dt', { text: k }), el('dd', {}, v instanceof Node ? v : String(v)));
  }
  return dl;
}

function table(headers, items, cells, cls) {
  if (!items || !items.length) return el('p', { class: 'empty', text: 'none' });
  const t = el('table', { class: cls });
  t.append(el('thead', {}, el('tr', {}, ...headers.map((h) => el('th', { text: h })))));
  const body = el('tbody');
  for (const it of items) body.append(el('tr', {}, ...cells(it).map((c) => (c instanceof Node && c.tagName === 'TD') ? c : el('td', {}, c ?? ''))));
  t.append(body);
  return t;
}

function card(title, ...content) {
  return el('div', { class: 'card', 'data-card': title.toLowerCase() }, el('h2', { text: title }), ...content);
}

async function act(action, o) {
  const r = o.row;
  const flash = $('#flash');
  flash.textContent = `${action}…`;
  try {
    const resp = await fetch(`/api/action/${action}/${r.kind}/${r.namespace}/${r.name}`,
      { method: 'POST', headers: { 'x-ferroflux-action': '1' } });
    const body = await resp.json().catch(() => ({}));
    if (!resp.ok) throw new Error(body.error || resp.statusText);
    flash.textContent = action === 'reconcile' ? `reconcile requested at ${body.requestedAt}` : `${action} done`;
  } catch (e) {
    flash.textContent = `${action} failed: ${e.message}`;
  }
}

async function renderObject() {
  const { kind, namespace, name } = current;
  const view = $('#view-object');
  let o;
  try {
    o = await getJSON(`/api/object/${encodeURIComponent(kind)}/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`);
  } catch (e) {
    view.replaceChildren(el('p', { class: 'empty', text: `${kind} ${namespace}/${name}: ${e.message}` }));
    return;
  }
  if (current.view !== 'object' || current.kind !== kind || current.name !== name || current.namespace !== namespace) return;
  const r = o.row;
  const keepFlash = $('#flash') ? $('#flash').textContent : '';
  const head = el('div', { class: 'obj-head' },
    el('h1', {}, `${r.kind} `, el('span', { class: 'mono', text: `${r.namespace}/${r.name}` })),
    el('span', { class: `badge s-${r.state}`, id: 'obj-state', text: r.state }));
  if (o.allowActions) {
    const actions = el('div', { class: 'actions' });
    if (r.reconcilable) actions.append(el('button', { 'data-action': 'reconcile', onclick: () => act('reconcile', o), text: 'Reconcile' }));
    actions.append(r.suspended
      ? el('button', { 'data-action': 'resume', onclick: () => act('resume', o), text: 'Resume' })
      : el('button', { 'data-action': 'suspend', onclick: () => act('suspend', o), text: 'Suspend' }));
    head.append(actions);
  }
  head.append(el('span', { id: 'flash', class: 'flash', text: keepFlash }));
  const ann = o.annotations || {};
  const source = o.sourceId ? el('a', { href: `#/object/${o.sourceId}`, text: o.sourceId }) : null;
  const deps = (o.links.dependsOn || []).map((d) => `${d.kind}/${d.namespace}/${d.name}`).join(', ');
  const summary = card('Summary', kv([
    ['Ready', r.ready], ['Message', el('span', { id: 'obj-message', text: r.message })],
    ['Revision', el('span', { id: 'obj-revision', class: 'mono', title: r.revision, text: r.revision })],
    ['Suspended', r.suspended ? 'True' : 'False'], ['Last change', r.lastChange ? `${r.lastChange} (${ago(r.lastChange)})` : ''],
    ['Source', source], ['Depends on', deps],
    ['Requested at', ann['reconcile.fluxcd.io/requestedAt']],
  ]));
  const conditions = card('Conditions', table(['Type', 'Status', 'Reason', 'Message', 'Last transition'], o.conditions,
    (c) => [c.type, c.status, c.reason, c.message, c.lastTransitionTime], 'conditions'));
  const parts = [head, summary, conditions];
  if (o.artifact) {
    const a = o.artifact;
    parts.push(card('Artifact', kv([['Revision', a.revision], ['Digest', el('span', { class: 'mono', text: a.digest || '' })],
      ['Size', a.size !== undefined ? `${a.size} bytes` : ''], ['Updated', a.lastUpdateTime], ['URL', a.url]])));
  }
  if (r.kind === 'Kustomization' || (o.inventory && o.inventory.length)) {
    parts.push(card('Inventory', table(['Kind', 'Namespace', 'Name', 'Health', 'Message'], o.inventory, (i) => [
      i.kind, i.namespace, i.flux ? el('a', { href: `#/object/${i.kind}/${i.namespace}/${i.name}`, text: i.name }) : i.name,
      el('td', { class: 'c-health' }, el('span', { class: `badge h-${i.health.status}`, text: i.health.status })),
      i.health.message], 'inventory')));
  }
  if (r.kind === 'HelmRelease') {
    parts.push(card('History', table(['Version', 'Chart', 'App version', 'Status', 'Deployed', 'Digest'], o.history, (h) => [
      h.version, `${h.chartName || ''}@${h.chartVersion || ''}`, h.appVersion, h.status, h.lastDeployed || h.firstDeployed,
      el('td', { class: 'mono', text: shortRev(h.digest || '') })], 'history')));
  }
  parts.push(card('Events', table(['Time', 'Type', 'Reason', 'Message'], o.events,
    (e) => [e.time, e.type, e.reason, e.message], 'events')));
  view.replaceChildren(...parts);
}

// ---- routing and live updates -------------------------------------------

function route() {
  const h = location.hash.replace(/^#\/?/, '');
  const parts = h.split('/').map(decodeURIComponent);
  if (parts[0] === 'graph') current = { view: 'graph' };
  else if (parts[0] === 'object' && parts.length === 4) current = { view: 'object', kind: parts[1], namespace: parts[2], name: parts[3] };
  else current = { view: 'overview' };
  for (const v of ['overview', 'graph', 'object']) $(`#view-${v}`).hidden = current.view !== v;
  $('#nav-overview').classList.toggle('active', current.view === 'overview');
  $('#nav-graph').classList.toggle('active', current.view === 'graph');
  render();
}

function render() {
  const show = (p) => p && p.catch((e) => console.error(e));
  if (current.view === 'overview') renderOverview();
  else if (current.view === 'graph') show(renderGraph());
  else show(renderObject());
}

// Coalesces bursts of changes into one redraw of the slower views.
function soon() {
  if (refreshTimer) return;
  refreshTimer = setTimeout(() => { refreshTimer = null; render(); }, 150);
}

function onChange(c) {
  if (c.type === 'upsert') {
    rows.set(keyOf(c.row), c.row);
    if (current.view === 'overview') soon();
    else if (current.view === 'graph') soon();
    else if (current.view === 'object') soon();
  } else if (c.type === 'delete') {
    rows.delete(`${c.key.kind}/${c.key.namespace}/${c.key.name}`);
    soon();
  } else if (c.type === 'event') {
    const e = c.event;
    if (current.view === 'object' && e.kind === current.kind && e.namespace === current.namespace && e.name === current.name) soon();
  } else if (c.type === 'reset') {
    loadOverview().then(soon).catch((e) => console.error(e));
  }
}

function connectLive() {
  const es = new EventSource('/api/live');
  // The overview is read once the stream is open (and again after each
  // reconnect), so that no change falls between the two; if the stream cannot
  // open (a proxy that buffers), the page still loads, just not live.
  let loaded = false;
  const load = () => loadOverview().then(() => { loaded = true; render(); }).catch((e) => {
    $('#sync-note').hidden = false;
    $('#sync-note').textContent = e.message;
  });
  es.onopen = () => { $('#live').classList.replace('off', 'on'); load(); };
  setTimeout(() => { if (!loaded) load(); }, 2000);
  es.onerror = () => $('#live').classList.replace('on', 'off');
  es.onmessage = (m) => { try { onChange(JSON.parse(m.data)); } catch (e) { console.error(e); } };
}

document.addEventListener('DOMContentLoaded', () => {
  for (const id of ['#f-namespace', '#f-kind', '#f-status']) $(id).addEventListener('change', renderOverview);
  $('#f-text').addEventListener('input', renderOverview);
  $('#g-namespace').addEventListener('change', () => renderGraph().catch((e) => console.error(e)));
  window.addEventListener('hashchange', route);
  connectLive();
  route();
  // Relative times age; the data does not change, only its wording.
  setInterval(() => { if (current.view === 'overview') renderOverview(); }, 30000);
});
