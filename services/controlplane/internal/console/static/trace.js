import { el, table } from './dom.js';

// Apigee's trace timestamps are dd-MM-yy HH:mm:ss:SSS (UTC).
export function traceMillis(ts) {
  const m = /^(\d\d)-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d):(\d{3})$/.exec(ts || '');
  if (!m) return NaN;
  return Date.UTC(2000 + Number(m[3]), Number(m[2]) - 1, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]), Number(m[7]));
}

function propsOf(result) {
  const out = {};
  for (const p of (result && result.properties && result.properties.property) || []) out[p.name] = p.value;
  return out;
}

// steps flattens a transaction (GoogleCloudApigeeV1DebugSessionTransaction)
// into rows: what happened, when (ms after the first point), how long a
// policy took, and the variables it set.
export function steps(tx) {
  const rows = [];
  let t0 = NaN;
  for (const point of tx.point || []) {
    const info = (point.results || []).find((r) => r.ActionResult === 'DebugInfo');
    const props = propsOf(info);
    const at = traceMillis(info && info.timestamp);
    if (Number.isNaN(t0) && !Number.isNaN(at)) t0 = at;
    const vars = [];
    let message = null;
    for (const r of point.results || []) {
      if (r.ActionResult === 'VariableAccess') {
        for (const a of r.accessList || []) if (a.Set) vars.push(a.Set);
      }
      if (r.ActionResult === 'RequestMessage' || r.ActionResult === 'ResponseMessage') message = r;
    }
    const row = { point: point.id, offset: Number.isNaN(at) || Number.isNaN(t0) ? null : at - t0, vars, message, props };
    switch (point.id) {
      case 'Execution':
        row.policy = props['stepDefinition-name'];
        row.type = props['stepDefinition-type'] || props.type;
        row.flow = props.flowState;
        row.result = props.result === 'false' ? 'failed' : 'ok';
        row.elapsed = props.elapsedTime !== undefined ? Number(props.elapsedTime) : null;
        row.detail = props.error || '';
        break;
      case 'Condition':
        row.detail = props.Expression;
        row.result = props.ExpressionResult;
        break;
      case 'StateChange':
        row.detail = '→ ' + (props.To || '');
        break;
      case 'Error':
        row.detail = `${props['error.class'] || ''} ${props['error.message'] || ''}`.trim();
        row.result = 'error';
        break;
      default:
        row.detail = Object.entries(props).map(([k, v]) => `${k}=${v}`).join(' ');
    }
    rows.push(row);
  }
  return rows;
}

// summary is the first request line and the last response status.
export function summary(tx) {
  let verb = '', uri = '', status = '';
  for (const p of tx.point || []) {
    for (const r of p.results || []) {
      if (r.ActionResult === 'RequestMessage' && !uri) { verb = r.verb || ''; uri = r.uRI || ''; }
      if (r.ActionResult === 'ResponseMessage' && r.statusCode) status = r.statusCode;
    }
  }
  return { verb, uri, status };
}

function messageDetails(m) {
  if (!m) return null;
  const title = m.ActionResult === 'RequestMessage' ? `${m.verb || ''} ${m.uRI || ''}` : `response ${m.statusCode || ''} ${m.reasonPhrase || ''}`;
  return el('details', { class: 'message' }, el('summary', {}, title.trim() || m.ActionResult),
    el('ul', { class: 'headers' }, (m.headers || []).map((h) => el('li', {}, el('b', {}, h.name + ': '), h.value))),
    m.content ? el('pre', {}, m.content) : null);
}

// render shows one transaction: its request and status, a timing bar per
// policy, and every point in order with conditions and variables.
export function render(id, tx) {
  const rows = steps(tx);
  const s = summary(tx);
  const total = Math.max(1, ...rows.map((r) => (r.offset || 0) + (r.elapsed || 0)));
  const body = rows.map((r, i) => el('tr', {
    class: 'step ' + r.point.toLowerCase(),
    dataset: { point: r.point, policy: r.policy || '', result: r.result || '' },
  },
  el('td', {}, String(i + 1)),
  el('td', {}, r.point),
  el('td', { class: 'policy' }, r.policy || '', r.type ? el('small', {}, ' ' + r.type) : null, r.flow ? el('small', {}, ' ' + r.flow) : null),
  el('td', { class: 'detail' }, r.detail || '', messageDetails(r.message)),
  el('td', { class: 'result' }, r.result || ''),
  el('td', { class: 'num' }, r.offset === null ? '' : `+${r.offset} ms`),
  el('td', { class: 'num elapsed' }, r.elapsed === null || r.elapsed === undefined ? '' : `${r.elapsed.toFixed(3)} ms`,
    r.elapsed ? el('span', { class: 'timing', style: null, dataset: { width: Math.max(1, Math.round((100 * r.elapsed) / total)) } }) : null),
  el('td', { class: 'vars' }, r.vars.length ? el('ul', {}, r.vars.map((v) => el('li', { class: 'var', dataset: { name: v.name } }, el('code', {}, v.name), ' = ', v.value))) : '')));
  const node = el('div', { class: 'transaction', dataset: { id, completed: String(!!tx.completed) } },
    el('h3', {}, `${s.verb} ${s.uri} → ${s.status || '…'}`, el('small', {}, ` transaction ${id}${tx.completed ? '' : ' (incomplete)'}`)),
    table(['#', 'Point', 'Policy', 'Detail', 'Result', 'At', 'Took', 'Variables set'], body, { id: 'trace-steps' }));
  // Bar widths from data-width: the CSP forbids inline style attributes,
  // but setting style properties from script is allowed.
  for (const t of node.querySelectorAll('.timing')) t.style.width = t.dataset.width + '%';
  return node;
}
