import { el, table, badge } from './dom.js';

// The seed's impact table ("Apigee Hybrid off the Grid"), one line per
// runtime component, as hybridctl outage report prints it.
export const seedImpact = {
  synchronizer: 'newer configuration fails to download; existing keeps working; probe fails after 5 consecutive errors (CrashLoopBackOff); a restart serves the contract from Cassandra',
  runtime: 'existing APIs keep serving; new deployments and debug sessions do not arrive; a restart resumes from Cassandra',
  udca: 'uploads fail; files are buffered, retried after 60s and discarded after 3 retries',
  mart: 'existing runtime data keeps serving traffic; new data from the control plane cannot be written',
  'connect-agent': 'the tether drops, so the control plane cannot reach MART; it reconnects on recovery',
  watcher: 'newer ingress configuration does not arrive; deployment status in the control plane goes stale',
  telemetry: 'metrics and logs are not pushed to Cloud Monitoring and Logging (buffered and retried)',
};

// Which runtime components call each upstream service (docs/ARCHITECTURE.md
// "Off the grid"): a component is affected when one of its upstreams is
// faulted. This is what the seed expects, not what the components report;
// `hybridctl outage report` reads their status endpoints for that.
export const dependents = {
  apigee: ['synchronizer', 'runtime', 'watcher', 'udca', 'mart'],
  iamcredentials: ['synchronizer', 'udca', 'watcher', 'connect-agent', 'telemetry'],
  apigeeconnect: ['connect-agent', 'mart'],
  storage: ['udca'],
  monitoring: ['telemetry'],
  logging: ['telemetry'],
};

function how(s) {
  const parts = [s.mode || (s.latency ? 'latency' : '')];
  if (s.latency) parts.push('+' + s.latency);
  // 1 (every call fails) is the default: only a partial rate is news.
  if (s.errorRate && s.errorRate < 1) parts.push(`error rate ${s.errorRate}`);
  return parts.filter(Boolean).join(', ');
}

// observed is the control plane's outage report: each component's state
// as it shows it, beside the seed's expectation (hybridctl outage report's
// table).
function observed(report) {
  const rows = (report.rows || []).map((r) => el('tr', { class: 'component', dataset: { component: r.component, state: r.state } },
    el('td', {}, r.component),
    el('td', {}, badge(r.state)),
    el('td', {}, r.observed),
    el('td', { class: 'expected' }, r.expected),
    el('td', {}, r.since ? r.since.replace('T', ' ').replace(/\.\d+/, '') : '')));
  return el('div', {}, el('h3', {}, 'Each component, as it shows it'),
    table(['Component', 'State', 'Observed', 'Expected during an outage (seed)', 'Since'], rows, { id: 'outage-report' }));
}

// render: the switch's state per upstream service, then what each
// component shows (report, when the control plane has one), else the
// seed's expected impact for every component behind a faulted one.
export function render(status, report) {
  const services = status.services || [];
  const down = services.filter((s) => s.active);
  const switchRows = services.map((s) => el('tr', { class: 'upstream', dataset: { service: s.service, active: String(!!s.active) } },
    el('td', {}, s.service),
    el('td', {}, badge(s.active ? 'DOWN' : 'UP')),
    el('td', {}, s.active ? how(s) : ''),
    el('td', {}, s.active ? s.scope || 'all' : ''),
    el('td', {}, s.since ? s.since.replace('T', ' ').replace(/\.\d+/, '') : '')));
  const causes = {};
  for (const s of down) {
    for (const c of dependents[s.service] || []) (causes[c] ||= []).push(s.service);
  }
  const impactRows = Object.keys(seedImpact).filter((c) => causes[c]).map((c) => el('tr', { class: 'impact', dataset: { component: c } },
    el('td', {}, c),
    el('td', {}, causes[c].join(', ')),
    el('td', {}, seedImpact[c])));
  return [
    el('p', { class: 'summary', dataset: { down: down.length } },
      down.length ? `${down.length} upstream service(s) faulted: the runtime plane is ${down.length === services.length ? 'off the grid' : 'partly cut off'}.` : 'All upstream services up.'),
    table(['Upstream service', 'State', 'How', 'Scope', 'Since'], switchRows, { id: 'outage-switch' }),
    report ? observed(report) : null,
    !report && down.length
      ? el('div', {}, el('h3', {}, 'Expected impact (the seed\'s table)'),
        table(['Component', 'Because of', 'Expected during the outage'], impactRows, { id: 'outage-impact' }),
        el('p', { class: 'note' }, 'Expected, not observed: run hybridctl outage report for what each component reports.'))
      : null,
  ];
}
