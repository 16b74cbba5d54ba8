// The Apigee API client of the console: every call carries the user's
// bearer token and goes to the control plane that served the page. The
// console has no privileges of its own.

const KEY = 'hybrid.console.token';

export class APIError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// takeToken reads #token=… from the URL once, keeps it in this tab's
// sessionStorage and removes it from the address bar (the fragment is
// never sent to the server; removing it keeps it out of history and
// screenshots).
export function takeToken() {
  const m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem(KEY, decodeURIComponent(m[1]));
    const rest = location.hash.slice(1).split('&').filter((p) => !p.startsWith('token=')).join('&');
    history.replaceState(null, '', location.pathname + location.search + (rest ? '#' + rest : ''));
  }
  return sessionStorage.getItem(KEY) || '';
}

export function setToken(t) {
  sessionStorage.setItem(KEY, t);
}

export function clearToken() {
  sessionStorage.removeItem(KEY);
}

// api(path, {method, body, query}) → parsed JSON; an error answer throws
// APIError with Google's error message.
export async function api(path, opts = {}) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(opts.query || {})) {
    for (const x of [].concat(v)) url.searchParams.append(k, x);
  }
  const headers = { Authorization: 'Bearer ' + (sessionStorage.getItem(KEY) || '') };
  let body;
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  const resp = await fetch(url, { method: opts.method || 'GET', headers, body, cache: 'no-store' });
  const text = await resp.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!resp.ok) {
    const msg = (data && data.error && data.error.message) || text || resp.statusText;
    throw new APIError(resp.status, `HTTP ${resp.status}: ${msg}`);
  }
  return data;
}

export const enc = encodeURIComponent;
