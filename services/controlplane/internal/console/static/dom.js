// Tiny DOM helpers. Text always goes in as text nodes, never as HTML, so
// values from the API (proxy names, headers, payloads) cannot inject markup.

const SVG = 'http://www.w3.org/2000/svg';

function build(node, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

// el('td', {class: 'x'}, 'text', child, …)
export function el(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

export function svg(tag, attrs, ...children) {
  return build(document.createElementNS(SVG, tag), attrs, children);
}

// table(['A', 'B'], rows): rows are <tr> elements.
export function table(headers, rows, attrs) {
  return el('table', attrs, el('thead', {}, el('tr', {}, headers.map((h) => el('th', {}, h)))), el('tbody', {}, rows));
}

export function badge(state) {
  const s = String(state || 'UNKNOWN');
  return el('span', { class: 'badge ' + s.toLowerCase().replace(/[^a-z]+/g, '-'), dataset: { state: s } }, s);
}

// fill replaces a panel's content, and records on the panel whether
// it loaded (data-state="ok"/"error"), so tests and people can tell.
export function fill(panel, ...children) {
  const body = panel.querySelector(':scope > .body') || panel;
  body.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  panel.dataset.state = 'ok';
}

export function fail(panel, err) {
  const body = panel.querySelector(':scope > .body') || panel;
  body.replaceChildren(el('p', { class: 'error' }, String(err && err.message ? err.message : err)));
  panel.dataset.state = 'error';
}

export function time(ms) {
  const n = Number(ms);
  if (!n) return '';
  return new Date(n).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}
