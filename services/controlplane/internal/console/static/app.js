// The console's main module: reads the token, picks the organization and
// environment, and keeps each panel fresh by polling the Apigee API.
import { api, APIError, enc, takeToken, setToken, clearToken } from './api.js';
import { el, table, badge, fill, fail, time } from './dom.js';
import { barChart } from './chart.js';
import * as trace from './trace.js';
import * as outage from './outage.js';

const $ = (s) => document.querySelector(s);
const params = new URLSearchParams(location.search);
const MINUTES = Math.min(60, Math.max(2, Number(params.get('minutes')) || 15));

const st = {
  org: '', env: '', project: '',
  gen: 0, // bumped when org or env change: older polls stop
  deployments: [],
  proxy: '', session: '', tx: '',
};

// every runs fn now and then period ms after each run ends, until the
// org or env changes (a newer generation starts its own loops).
function every(fn, period) {
  const gen = st.gen;
  const run = async () => {
    if (gen !== st.gen) return;
    try {
      await fn();
    } catch (e) {
      console.error(e);
    }
    if (gen === st.gen) setTimeout(run, period);
  };
  run();
}

function orgPath() {
  return `/v1/organizations/${enc(st.org)}`;
}

function envPath() {
  return `${orgPath()}/environments/${enc(st.env)}`;
}

function stamp() {
  $('#status').textContent = 'updated ' + new Date().toISOString().slice(11, 19) + 'Z';
}

function showTokenForm(message) {
  $('#main').hidden = true;
  $('#signout').hidden = true;
  $('#token-form').hidden = false;
  $('#token-error').textContent = message || '';
  $('#token-input').focus();
}

function authFailed(e) {
  return e && (e.status === 401 || e.status === 403);
}

async function start() {
  let orgs;
  try {
    orgs = (await api('/v1/organizations')).organizations || [];
  } catch (e) {
    showTokenForm(authFailed(e) ? 'The control plane refused this token: ' + e.message : e.message);
    return;
  }
  $('#token-form').hidden = true;
  $('#main').hidden = false;
  $('#signout').hidden = false;
  const sel = $('#org');
  sel.replaceChildren(...orgs.map((o) => el('option', { value: o.organization }, o.organization)));
  const want = params.get('org');
  sel.value = orgs.some((o) => o.organization === want) ? want : (orgs[0] || {}).organization || '';
  await selectOrg(sel.value);
}

async function selectOrg(org) {
  st.org = org;
  st.gen++;
  if (!org) {
    fail($('#org-panel'), 'No organization is visible to this token.');
    return;
  }
  let o;
  try {
    o = await api(orgPath());
  } catch (e) {
    fail($('#org-panel'), e);
    return;
  }
  st.project = o.projectId || org;
  const envs = o.environments || [];
  const sel = $('#env');
  sel.replaceChildren(...envs.map((e) => el('option', { value: e }, e)));
  const want = params.get('env');
  sel.value = envs.includes(want) ? want : envs[0] || '';
  selectEnv(sel.value);
}

function selectEnv(env) {
  st.env = env;
  st.gen++;
  st.proxy = st.session = st.tx = '';
  $('#trace-sessions').replaceChildren();
  $('#trace-transactions').replaceChildren();
  $('#trace-detail').replaceChildren();
  for (const n of document.querySelectorAll('.env-name')) n.textContent = env;
  every(loadOrgPanel, 10000);
  every(loadDeployments, 3000);
  every(loadConnect, 5000);
  every(loadAnalytics, 10000);
  every(loadSessions, 3000);
  every(loadTransactions, 2000);
  every(loadOutage, 2000);
}

// Environments, groups (hostnames, attachments) and instances (the
// environments attached to each).
async function loadOrgPanel() {
  const panel = $('#org-panel');
  try {
    const [envs, groups, insts] = await Promise.all([
      api(`${orgPath()}/environments`),
      api(`${orgPath()}/envgroups`),
      api(`${orgPath()}/instances`),
    ]);
    const gs = groups.environmentGroups || [];
    const is = insts.instances || [];
    const gAtt = await Promise.all(gs.map((g) => api(`${orgPath()}/envgroups/${enc(g.name)}/attachments`)));
    const iAtt = await Promise.all(is.map((i) => api(`${orgPath()}/instances/${enc(i.name)}/attachments`)));
    fill(panel,
      el('h3', {}, 'Environments'),
      el('ul', { class: 'chips', id: 'environments' }, (envs || []).map((e) => el('li', { dataset: { env: e } }, e))),
      el('h3', {}, 'Environment groups'),
      table(['Group', 'Hostnames', 'Environments', 'State'], gs.map((g, i) => el('tr', { class: 'envgroup', dataset: { group: g.name } },
        el('td', {}, g.name),
        el('td', {}, (g.hostnames || []).join(', ')),
        el('td', {}, ((gAtt[i] && gAtt[i].environmentGroupAttachments) || []).map((a) => a.environment).join(', ')),
        el('td', {}, badge(g.state))))),
      el('h3', {}, 'Instances'),
      is.length
        ? table(['Instance', 'Location', 'Host', 'Environments', 'State'], is.map((inst, i) => el('tr', { class: 'instance', dataset: { instance: inst.name } },
          el('td', {}, inst.name),
          el('td', {}, inst.location || ''),
          el('td', {}, inst.host ? `${inst.host}${inst.port ? ':' + inst.port : ''}` : ''),
          el('td', {}, ((iAtt[i] && iAtt[i].attachments) || []).map((a) => a.environment).join(', ')),
          el('td', {}, badge(inst.state)))))
        : el('p', { class: 'empty' }, 'No instances in the instances API (an Apigee X resource; hybrid\'s runtime instances are listed below as they report).'));
    stamp();
  } catch (e) {
    fail(panel, e);
  }
}

// Deployments of the environment with their status per instance and pod.
async function loadDeployments() {
  const panel = $('#deployments-panel');
  try {
    const ds = (await api(`${envPath()}/deployments`)).deployments || [];
    ds.sort((a, b) => a.apiProxy.localeCompare(b.apiProxy) || Number(a.revision) - Number(b.revision));
    st.deployments = ds;
    fill(panel, ds.length
      ? table(['Proxy', 'Revision', 'State', 'Instances', 'Pods', 'Deployed', 'Errors'], ds.map((d) => el('tr', {
        class: 'deployment', dataset: { proxy: d.apiProxy, revision: d.revision, state: d.state },
      },
      el('td', {}, d.apiProxy),
      el('td', {}, d.revision),
      el('td', {}, badge(d.state)),
      el('td', {}, el('ul', {}, (d.instances || []).map((i) => el('li', { class: 'instance', dataset: { instance: i.instance } },
        i.instance, ' ', el('small', {}, (i.deployedRevisions || []).map((r) => `rev ${r.revision} ${r.percentage}%`).join(', ')))))),
      el('td', {}, el('ul', {}, (d.pods || []).map((p) => el('li', { class: 'pod', dataset: { pod: p.podName, status: p.deploymentStatus } },
        p.podName, ' ', badge(p.deploymentStatus), ' ', el('small', {}, `pod ${p.podStatus || '?'} ${p.statusCode || ''} ${p.appVersion || ''}`))))),
      el('td', {}, time(d.deployStartTime)),
      el('td', { class: 'error' }, (d.errors || []).map((e) => e.message).join('; ')))))
      : el('p', { class: 'empty' }, `Nothing deployed to ${st.env}.`));
    renderRuntimeInstances(ds);
    updateTraceProxies();
    stamp();
  } catch (e) {
    fail(panel, e);
  }
}

// The runtime instances of the environment as their status reports show
// them (instances[] and pods[] of each deployment): in hybrid these are
// the clusters' message processors, which the instances API (an Apigee X
// resource) does not list.
function renderRuntimeInstances(ds) {
  const byInstance = new Map();
  for (const d of ds) {
    for (const i of d.instances || []) {
      const e = byInstance.get(i.instance) || { revisions: [], pods: new Map() };
      for (const r of i.deployedRevisions || []) e.revisions.push(`${d.apiProxy} r${r.revision}`);
      // pods[] is per deployment, not per instance: attributable only
      // when one instance reports it.
      if ((d.instances || []).length === 1) for (const p of d.pods || []) e.pods.set(p.podName, p.podStatus);
      byInstance.set(i.instance, e);
    }
  }
  const box = $('#runtime-instances');
  if (!byInstance.size) {
    box.replaceChildren();
    return;
  }
  box.replaceChildren(el('h3', {}, `Runtime instances reporting for ${st.env}`),
    table(['Instance', 'Deployments loaded', 'Pods'], [...byInstance].sort(([a], [b]) => a.localeCompare(b)).map(([name, e]) => el('tr', {
      class: 'instance', dataset: { instance: name, pods: e.pods.size },
    },
    el('td', {}, name),
    el('td', {}, e.revisions.join(', ')),
    el('td', {}, [...e.pods].map(([pod, status]) => `${pod} (${status || '?'})`).join(', '))))));
}

// Apigee Connect tethers of the MART endpoint (ListConnections).
async function loadConnect() {
  const panel = $('#connect-panel');
  try {
    const cs = (await api(`/v1/projects/${enc(st.project)}/endpoints/apigee_mart/connections`)).connections || [];
    fill(panel, cs.length
      ? table(['Endpoint', 'Cluster', 'Region', 'Streams'], cs.map((c) => el('tr', { class: 'tether', dataset: { cluster: (c.cluster || {}).name || '', streams: c.streamCount || 0 } },
        el('td', {}, c.endpoint || 'apigee_mart'),
        el('td', {}, (c.cluster || {}).name || ''),
        el('td', {}, (c.cluster || {}).region || ''),
        el('td', { class: 'num' }, String(c.streamCount || 0)))))
      : el('p', { class: 'empty' }, 'No Connect agent is tethered (without Connect the control plane reaches MART directly, if at all).'));
  } catch (e) {
    fail(panel, e);
  }
}

// The stats API's time range is MM/DD/YYYY HH:MM in UTC, end exclusive.
function rangeFmt(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}/${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}`;
}

// Calls per minute per proxy over the last MINUTES minutes: one bucket per
// minute, the current one last.
async function loadAnalytics() {
  const panel = $('#analytics-panel');
  panel.querySelector('.minutes').textContent = MINUTES;
  const end = new Date(Math.floor(Date.now() / 60000) * 60000 + 60000);
  const begin = new Date(end.getTime() - MINUTES * 60000);
  try {
    const out = await api(`${envPath()}/stats/apiproxy`, {
      query: {
        select: 'sum(message_count),sum(is_error)',
        timeRange: `${rangeFmt(begin)}~${rangeFmt(end)}`,
        timeUnit: 'minute',
        tsAscending: 'true',
      },
    });
    const dims = ((out.environments || [])[0] || {}).dimensions || [];
    const charts = dims.map((d) => {
      const series = {};
      for (const m of d.metrics || []) series[m.name] = m.values || [];
      const calls = series['sum(message_count)'] || [];
      const errs = new Map((series['sum(is_error)'] || []).map((v) => [v.timestamp, Number(v.value)]));
      return barChart(d.name, calls.map((v) => ({ t: v.timestamp, calls: Number(v.value), errors: errs.get(v.timestamp) || 0 })));
    });
    fill(panel, charts.length ? el('div', { class: 'charts' }, charts) : el('p', { class: 'empty' }, `No traffic in ${st.env} in the last ${MINUTES} minutes.`),
      el('p', { class: 'note' }, 'Calls show about ten seconds after they are made (UDCA uploads its files when they are that old).'));
  } catch (e) {
    fail(panel, e);
  }
}

function revPath() {
  const [name, rev] = st.proxy.split('/');
  return `${envPath()}/apis/${enc(name)}/revisions/${enc(rev)}`;
}

function updateTraceProxies() {
  const sel = $('#trace-proxy');
  const values = st.deployments.map((d) => `${d.apiProxy}/${d.revision}`);
  const current = [...sel.options].map((o) => o.value);
  if (values.join('\n') !== current.join('\n')) {
    sel.replaceChildren(...values.map((v) => el('option', { value: v }, v.replace('/', ' revision '))));
  }
  if (!values.includes(st.proxy)) {
    sel.value = values[0] || '';
    selectProxy(sel.value); // loads its sessions at once, not at the next poll
    return;
  }
  sel.value = st.proxy;
}

function selectProxy(v) {
  st.proxy = v;
  st.session = st.tx = '';
  $('#trace-transactions').replaceChildren();
  $('#trace-detail').replaceChildren();
  loadSessions();
}

// The selected proxy revision's debug sessions, newest first; the newest
// is selected when none is.
async function loadSessions() {
  const ul = $('#trace-sessions');
  if (!st.proxy) {
    ul.replaceChildren(el('li', { class: 'empty' }, 'Deploy a proxy to trace it.'));
    return;
  }
  try {
    const ss = ((await api(`${revPath()}/debugsessions`)).sessions || []).sort((a, b) => Number(b.timestampMs) - Number(a.timestampMs));
    if (!st.session && ss.length) st.session = ss[0].id;
    ul.replaceChildren(...ss.map((s) => el('li', { class: 'session' + (s.id === st.session ? ' selected' : ''), dataset: { session: s.id } },
      el('button', { type: 'button', onclick: () => { st.session = s.id; st.tx = ''; loadSessions(); loadTransactions(); } }, s.id),
      ' ', el('small', {}, time(s.timestampMs)))));
    if (!ss.length) ul.replaceChildren(el('li', { class: 'empty' }, 'No debug sessions: start one above.'));
  } catch (e) {
    ul.replaceChildren(el('li', { class: 'error' }, e.message));
  }
}

// The selected session's captured transactions (ids), as they arrive.
async function loadTransactions() {
  const ul = $('#trace-transactions');
  if (!st.proxy || !st.session) {
    ul.replaceChildren();
    return;
  }
  try {
    const ids = (await api(`${revPath()}/debugsessions/${enc(st.session)}/data`)) || [];
    ul.dataset.session = st.session;
    ul.dataset.count = ids.length;
    ul.replaceChildren(...ids.map((id) => el('li', { class: 'tx' + (id === st.tx ? ' selected' : ''), dataset: { id } },
      el('button', { type: 'button', onclick: () => showTransaction(id) }, id))));
    if (!ids.length) ul.replaceChildren(el('li', { class: 'empty' }, 'Waiting for matching calls…'));
  } catch (e) {
    ul.replaceChildren(el('li', { class: 'error' }, e.message));
  }
}

async function showTransaction(id) {
  st.tx = id;
  for (const li of document.querySelectorAll('#trace-transactions li')) li.classList.toggle('selected', li.dataset.id === id);
  const box = $('#trace-detail');
  try {
    const tx = await api(`${revPath()}/debugsessions/${enc(st.session)}/data/${enc(id)}`);
    box.replaceChildren(trace.render(id, tx));
  } catch (e) {
    box.replaceChildren(el('p', { class: 'error' }, e.message));
  }
}

async function startSession(ev) {
  ev.preventDefault();
  if (!st.proxy) return;
  const body = { count: Number($('#trace-count').value) || 10 };
  const filter = $('#trace-filter').value.trim();
  if (filter) body.filter = filter;
  try {
    const s = await api(`${revPath()}/debugsessions`, { method: 'POST', body });
    st.session = s.name;
    st.tx = '';
    $('#trace-detail').replaceChildren();
    await loadSessions();
    await loadTransactions();
  } catch (e) {
    $('#trace-detail').replaceChildren(el('p', { class: 'error' }, e.message));
  }
}

// The outage switch (GET /v1/emulator/outage), and what each component
// shows (GET /v1/emulator/outage/report) when the control plane knows
// where they are (make up tells it); else the seed's expected impact.
async function loadOutage() {
  const panel = $('#outage-panel');
  try {
    const status = await api('/v1/emulator/outage');
    let report = null;
    try {
      report = await api('/v1/emulator/outage/report');
    } catch (e) {
      if (!(e instanceof APIError) || e.status !== 404) throw e;
    }
    const sel = $('#outage-service');
    if (sel.options.length === 1) {
      sel.append(...(status.services || []).map((s) => el('option', { value: s.service }, s.service)));
    }
    fill(panel, outage.render(status, report));
  } catch (e) {
    fail(panel, e);
  }
}

async function startOutage(ev) {
  ev.preventDefault();
  const spec = { mode: $('#outage-mode').value, scope: $('#outage-scope').value };
  const svc = $('#outage-service').value;
  if (svc) spec.services = [svc];
  try {
    await api('/v1/emulator/outage', { method: 'POST', body: spec });
    await loadOutage();
  } catch (e) {
    fail($('#outage-panel'), e);
  }
}

async function stopOutage() {
  try {
    await api('/v1/emulator/outage', { method: 'DELETE' });
    await loadOutage();
  } catch (e) {
    fail($('#outage-panel'), e);
  }
}

$('#token-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  setToken($('#token-input').value.trim());
  $('#token-input').value = '';
  start();
});
$('#signout').addEventListener('click', () => {
  clearToken();
  st.gen++;
  showTokenForm('');
});
$('#org').addEventListener('change', (ev) => selectOrg(ev.target.value));
$('#env').addEventListener('change', (ev) => selectEnv(ev.target.value));
$('#trace-proxy').addEventListener('change', (ev) => selectProxy(ev.target.value));
$('#trace-start').addEventListener('submit', startSession);
$('#outage-form').addEventListener('submit', startOutage);
$('#outage-stop').addEventListener('click', stopOutage);

// A URL with a new #token=… pasted into this tab changes the hash only:
// the page is not reloaded, so take the token here too.
window.addEventListener('hashchange', () => {
  if (/(^#|&)token=/.test(location.hash)) {
    takeToken();
    st.gen++;
    start();
  }
});

if (takeToken()) start();
else showTokenForm('');
