import { el, svg } from './dom.js';

// barChart draws calls per time bucket as an SVG bar chart, one bar per
// point (empty buckets are bars of height 0), errors stacked in red.
// points: [{t: ms, calls: n, errors: n}], oldest first.
export function barChart(name, points, opts = {}) {
  const w = opts.width || 360, h = opts.height || 80, pad = 16;
  const max = Math.max(1, ...points.map((p) => p.calls));
  const bw = (w - 2) / Math.max(1, points.length);
  const scale = (v) => ((h - pad) * v) / max;
  const bars = points.map((p, i) => {
    const x = 1 + i * bw, bh = scale(p.calls), eh = scale(Math.min(p.errors, p.calls));
    const label = `${new Date(p.t).toISOString().slice(11, 16)}Z: ${p.calls} calls, ${p.errors} errors`;
    return svg('g', { class: 'bar', 'data-ts': p.t, 'data-value': p.calls, 'data-errors': p.errors },
      svg('title', {}, label),
      svg('rect', { class: 'calls', x: x.toFixed(1), y: (h - bh).toFixed(1), width: Math.max(1, bw - 2).toFixed(1), height: bh.toFixed(1) }),
      eh > 0 ? svg('rect', { class: 'errors', x: x.toFixed(1), y: (h - eh).toFixed(1), width: Math.max(1, bw - 2).toFixed(1), height: eh.toFixed(1) }) : null);
  });
  const total = points.reduce((s, p) => s + p.calls, 0);
  const errors = points.reduce((s, p) => s + p.errors, 0);
  return el('figure', { class: 'chart', dataset: { proxy: name, points: points.length, total } },
    el('figcaption', {}, el('strong', {}, name), ` ${total} calls, ${errors} errors (max ${max}/min)`),
    svg('svg', { viewBox: `0 0 ${w} ${h}`, width: w, height: h, role: 'img', 'aria-label': `${name}: calls per minute` },
      svg('line', { class: 'axis', x1: 0, y1: h - 0.5, x2: w, y2: h - 0.5 }),
      svg('text', { class: 'max', x: 2, y: 10 }, String(max)),
      bars));
}
