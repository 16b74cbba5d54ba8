// The control plane's web console in headless Chromium (Debian's package,
// driven by playwright-core; no browser is downloaded). e2e/console_test.go
// starts a real stack, deploys a proxy, makes calls and opens a debug
// session, then runs this file with what to expect in CONSOLE_* variables.
// Every check is on the DOM (data-* attributes and text), never on pixels;
// the screenshots are for people (.run/console-screenshots).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (run this through e2e/console_test.go)`);
  return v;
}

const URL_ = need('CONSOLE_URL');
const TOKEN = need('CONSOLE_TOKEN');
const ORG = need('CONSOLE_ORG');
const ENV = need('CONSOLE_ENV');
const HOST = need('CONSOLE_HOST');
const PROXY = need('CONSOLE_PROXY');
const REVISION = need('CONSOLE_REVISION');
const INSTANCE = need('CONSOLE_INSTANCE');
const CALLS = Number(need('CONSOLE_CALLS'));
const SESSION = need('CONSOLE_SESSION');
const TRANSACTIONS = Number(need('CONSOLE_TRANSACTIONS'));
const SHOTS = process.env.CONSOLE_SCREENSHOTS || path.resolve('../../.run/console-screenshots');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const MINUTES = 10;
const TIMEOUT = 30_000;

let userDataDir, context, page;
const problems = []; // uncaught errors and CSP violations in the page

before(async () => {
  await mkdir(SHOTS, { recursive: true });
  // A new, empty profile each run: nothing cached or remembered.
  userDataDir = await mkdtemp(path.join(tmpdir(), 'hybrid-console-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1440, height: 1100 },
  });
  context.setDefaultTimeout(TIMEOUT);
  page = context.pages()[0] || (await context.newPage());
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) problems.push(`CSP: ${m.text()}`);
  });
});

after(async () => {
  await context?.close();
  if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
});

async function shot(name) {
  await page.screenshot({ path: path.join(SHOTS, name), fullPage: true });
}

// The console's own fetch with the admin token, for setting up state the
// UI then has to show (the outage started behind its back).
async function adminFetch(p, init = {}) {
  const resp = await fetch(new URL(p, URL_), {
    ...init,
    headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json', ...(init.headers || {}) },
  });
  const text = await resp.text();
  assert.equal(resp.status, 200, `${init.method || 'GET'} ${p}: ${text}`);
  return JSON.parse(text);
}

const consoleURL = (q = '') => `${URL_}?org=${encodeURIComponent(ORG)}&env=${encodeURIComponent(ENV)}&minutes=${MINUTES}${q}`;

test('without a token the console asks for one and shows nothing', async () => {
  await page.goto(consoleURL());
  await page.waitForSelector('#token-form:not([hidden])');
  assert.equal(await page.isHidden('#main'), true);
});

test('a token the control plane refuses is reported, and no data is shown', async () => {
  await page.goto(consoleURL('#token=not-a-token'));
  await page.waitForFunction(() => /refused/.test(document.querySelector('#token-error').textContent));
  assert.equal(await page.isHidden('#main'), true);
  assert.equal(await page.evaluate(() => location.hash), '', 'the token is removed from the address bar');
});

test('the token form signs in', async () => {
  await page.fill('#token-input', TOKEN);
  await page.click('#token-form button[type=submit]');
  await page.waitForSelector('#main:not([hidden])');
  await page.click('#signout');
  await page.waitForSelector('#token-form:not([hidden])');
});

test('deployments show READY with their instance and pod', async () => {
  await page.goto(consoleURL(`#token=${encodeURIComponent(TOKEN)}`));
  // The fragment is dropped once the token is kept (out of history and screenshots).
  await page.waitForFunction(() => !location.hash.includes('token'));
  const row = `#deployments-panel tr.deployment[data-proxy="${PROXY}"][data-revision="${REVISION}"]`;
  await page.waitForSelector(`${row}[data-state="READY"]`);
  const inst = await page.textContent(`${row} li.instance[data-instance="${INSTANCE}"]`);
  assert.match(inst, new RegExp(`rev ${REVISION} 100%`));
  const pods = await page.$$eval(`${row} li.pod`, (ls) => ls.map((l) => l.dataset.status));
  assert.ok(pods.length >= 1, 'a pod reports the deployment');
  assert.ok(pods.every((s) => s === 'deployed'), `pods: ${pods}`);
  assert.equal(await page.inputValue('#org'), ORG);
  assert.equal(await page.inputValue('#env'), ENV);
  await shot('deployments.png');
});

test('environments, groups with hostnames and attachments, and instances', async () => {
  await page.waitForSelector(`#org-panel[data-state="ok"] #environments li[data-env="${ENV}"]`);
  const group = await page.$$eval('#org-panel tr.envgroup[data-group="console"] td', (tds) => tds.map((t) => t.textContent));
  assert.equal(group[1], HOST);
  assert.equal(group[2], ENV);
  // Hybrid's runtime instances come from deployment status (the
  // instances API is an Apigee X resource: empty here).
  await page.waitForSelector(`#runtime-instances tr.instance[data-instance="${INSTANCE}"]`);
  assert.match(await page.textContent(`#runtime-instances tr.instance[data-instance="${INSTANCE}"]`), new RegExp(`${PROXY} r${REVISION}`));
});

test('the Connect agent\'s tether is listed', async () => {
  await page.waitForSelector('#connect-panel[data-state="ok"] tr.tether');
  const streams = await page.$$eval('#connect-panel tr.tether', (rs) => rs.map((r) => Number(r.dataset.streams)));
  assert.ok(streams[0] >= 1, `streams: ${streams}`);
});

test('the analytics chart has one bar per minute adding up to every call', async () => {
  const chart = `#analytics-panel figure.chart[data-proxy="${PROXY}"]`;
  await page.waitForSelector(chart);
  assert.equal(await page.getAttribute(chart, 'data-points'), String(MINUTES));
  const bars = await page.$$eval(`${chart} svg g.bar`, (gs) => gs.map((g) => ({ t: Number(g.dataset.ts), v: Number(g.dataset.value) })));
  assert.equal(bars.length, MINUTES);
  assert.equal(bars.reduce((s, b) => s + b.v, 0), CALLS);
  for (let i = 1; i < bars.length; i++) assert.equal(bars[i].t - bars[i - 1].t, 60_000, 'one bar per minute, oldest first');
  assert.ok(bars.at(-1).t <= Date.now() && Date.now() - bars.at(-1).t < 120_000, 'the last bar is the current minute');
  const heights = await page.$$eval(`${chart} svg rect.calls`, (rs) => rs.map((r) => Number(r.getAttribute('height'))));
  assert.ok(heights.some((h) => h > 0), 'bars with calls have a height');
});

test('the trace viewer lists the session\'s transactions and shows their steps', async () => {
  await page.selectOption('#trace-proxy', `${PROXY}/${REVISION}`);
  await page.waitForSelector(`#trace-sessions li.session[data-session="${SESSION}"]`);
  await page.click(`#trace-sessions li.session[data-session="${SESSION}"] button`);
  await page.waitForSelector(`#trace-transactions[data-session="${SESSION}"][data-count="${TRANSACTIONS}"]`);
  await page.click('#trace-transactions li.tx button');
  await page.waitForSelector('#trace-steps tr.step');
  const steps = await page.$$eval('#trace-steps tr.step', (rs) => rs.map((r) => ({
    point: r.dataset.point, policy: r.dataset.policy, result: r.dataset.result,
    took: r.querySelector('.elapsed').textContent, at: r.children[5].textContent,
  })));
  const executed = steps.filter((s) => s.point === 'Execution').map((s) => s.policy);
  assert.deepEqual(executed, ['AM-Always'], 'the policies that ran, in order');
  const cond = steps.find((s) => s.point === 'Condition');
  assert.equal(cond.result, 'false', 'AM-Never\'s condition did not hold');
  assert.equal(steps[0].point, 'StateChange');
  assert.equal(steps.at(-1).point, 'StateChange');
  assert.match(steps.find((s) => s.policy === 'AM-Always').took, /^\d+\.\d{3} ms$/, 'a policy shows how long it took');
  assert.ok(steps.every((s) => /^\+\d+ ms$/.test(s.at)), 'every point shows when it happened');
  const seen = await page.textContent('#trace-steps li.var[data-name="traced.seen"]');
  assert.equal(seen, 'traced.seen = yes');
  const title = await page.textContent('#trace-detail .transaction h3');
  assert.match(title, /GET \/traced\/m\d\?debug=yes → 200/);
  await shot('trace.png');
});

test('a debug session started in the console is listed', async () => {
  const before = await page.$$eval('#trace-sessions li.session', (ls) => ls.map((l) => l.dataset.session));
  await page.fill('#trace-filter', 'request.queryparam.debug = "console"');
  await page.fill('#trace-count', '1');
  await page.click('#trace-start button[type=submit]');
  await page.waitForFunction((prev) => {
    const sel = document.querySelector('#trace-sessions li.session.selected');
    return sel && !prev.includes(sel.dataset.session);
  }, before);
  await page.waitForSelector('#trace-transactions li.empty');
});

test('the outage table follows the switch, live', async () => {
  await page.waitForSelector('#outage-panel[data-state="ok"] #outage-switch tr.upstream[data-service="apigee"][data-active="false"]');
  assert.equal(await page.$('#outage-impact'), null, 'no impact rows while everything is up');

  // Started behind the console's back: the polling picks it up.
  await adminFetch('/v1/emulator/outage', { method: 'POST', body: JSON.stringify({ services: ['apigeeconnect'], mode: 'reset' }) });
  await page.waitForSelector('#outage-switch tr.upstream[data-service="apigeeconnect"][data-active="true"]');
  const impact = await page.$$eval('#outage-impact tr.impact', (rs) => rs.map((r) => r.dataset.component));
  assert.deepEqual(impact, ['mart', 'connect-agent']);

  // Every upstream service, runtime scope, from the console's form: the
  // operator keeps the management API, so the other panels still load.
  await page.selectOption('#outage-service', '');
  await page.selectOption('#outage-scope', 'runtime');
  await page.click('#outage-start');
  await page.waitForFunction(() => document.querySelectorAll('#outage-switch tr.upstream[data-active="true"]').length === 6);
  const rows = await page.$$eval('#outage-impact tr.impact', (rs) => rs.map((r) => r.dataset.component));
  assert.deepEqual(rows, ['synchronizer', 'runtime', 'udca', 'mart', 'connect-agent', 'watcher', 'telemetry']);
  assert.match(await page.textContent('#outage-panel .summary'), /off the grid/);
  const scopes = await page.$$eval('#outage-switch tr.upstream', (rs) => rs.map((r) => r.children[3].textContent));
  assert.ok(scopes.every((s) => s === 'runtime'), `scopes: ${scopes}`);
  await page.waitForSelector(`#deployments-panel[data-state="ok"] tr.deployment[data-proxy="${PROXY}"]`);
  await shot('outage.png');

  await page.click('#outage-stop');
  await page.waitForFunction(() => document.querySelectorAll('#outage-switch tr.upstream[data-active="true"]').length === 0);
  assert.equal(await page.$('#outage-impact'), null);
  const st = await adminFetch('/v1/emulator/outage');
  assert.ok(st.services.every((s) => !s.active), 'the console restored every service');
});

// The control plane under test has no outage report (its components'
// addresses are not configured; make up configures them), so the panel
// shows the seed's expectations above. With one, it shows each component
// as the report says: served here by the browser, the report's shape as
// pkg/outagereport writes it.
test('with an outage report the panel shows each component as it shows it', async () => {
  const since = new Date(Date.now() - 60_000).toISOString();
  const report = { at: new Date().toISOString(), rows: [
    { component: 'controlplane', state: 'OUTAGE', expected: 'the runtime plane loses apigee', observed: 'faulted: apigee (unavailable)', since },
    { component: 'synchronizer', state: 'DEGRADED', expected: 'newer configuration fails to download', observed: '9 consecutive control plane errors (probe fails after 5)', since },
    { component: 'udca', state: 'BUFFERING', expected: 'uploads fail; files are buffered', observed: '4 files buffered (READY_TO_UPLOAD, including retries)' },
  ] };
  await page.route('**/v1/emulator/outage/report', (route) =>
    route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(report) }));
  await page.waitForSelector('#outage-report tr.component[data-component="udca"][data-state="BUFFERING"]');
  const rows = await page.$$eval('#outage-report tr.component', (rs) => rs.map((r) => [r.dataset.component, r.dataset.state, r.children[2].textContent]));
  assert.deepEqual(rows, report.rows.map((r) => [r.component, r.state, r.observed]));
  assert.equal(await page.$('#outage-impact'), null, 'observed rows replace the expected-impact table');
  await shot('outage-report.png');
  await page.unroute('**/v1/emulator/outage/report');
  await page.waitForSelector('#outage-report', { state: 'detached' });
});

test('nothing broke in the page: no uncaught errors, no CSP violations', () => {
  assert.deepEqual(problems, []);
});
