// ChangeFlow live dashboard: signs in with a bearer token (kept in this tab's sessionStorage),
// reads `liveMetrics` once over HTTP, then subscribes to `metrics` and `changeEvents` over
// WebSocket (graphql-transport-ws, the vendored graphql-ws client) with a fallback to SSE. Charts
// are hand-written SVG; nothing is loaded from another host.

const TOKEN_KEY = 'changeflow.token';
const ENDPOINT = '/graphql';
const HISTORY = 60;
const MAX_EVENTS = 100;
/** graphql-ws close codes after which retrying with the same token is pointless. */
const AUTH_CLOSE_CODES = new Set([4401, 4403]);
const AUTH_ERROR_CODES = new Set(['UNAUTHENTICATED', 'FORBIDDEN', 'INVALID_TOKEN', 'TOKEN_EXPIRED']);

const STATUSES = [
  'DRAFT',
  'SUBMITTED',
  'PENDING_APPROVAL',
  'APPROVED',
  'REJECTED',
  'SCHEDULED',
  'IMPLEMENTING',
  'COMPLETED',
  'FAILED',
  'ROLLED_BACK',
  'CANCELLED',
];

const KPI_FIELDS = `
  totalChanges activeChanges pendingApprovals meanTimeToApproveHours successRate emergencyRatio
  changesByStatus { status count }
  generatedAt`;
const SYSTEM_FIELDS = `
  requestsPerMinute latencyP50Ms latencyP95Ms latencyP99Ms errorRate
  toolCalls { tool calls errors }
  subscriptions`;
const LIVE_QUERY = `query DashboardSnapshot { liveMetrics { kpis { ${KPI_FIELDS} } system { ${SYSTEM_FIELDS} } generatedAt } }`;
const METRICS_SUBSCRIPTION = `subscription DashboardMetrics { metrics { kpis { ${KPI_FIELDS} } system { ${SYSTEM_FIELDS} } generatedAt } }`;
const EVENTS_SUBSCRIPTION =
  'subscription DashboardEvents { changeEvents { changeId title action status previousStatus version actorId source at } }';

const $ = (id) => document.getElementById(id);

// ------------------------------------------------------------------------------------------------
// Token handling

function base64UrlDecode(part) {
  const b64 = part
    .replace(/-/g, '+')
    .replace(/_/g, '/')
    .padEnd(Math.ceil(part.length / 4) * 4, '=');
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

/** The claims of a JWT (not verified here: the server does that), or an error to show. */
function decodeToken(raw) {
  const token = raw.trim().replace(/^bearer\s+/i, '');
  const parts = token.split('.');
  if (parts.length !== 3) return { error: 'That is not a JWT: expected three dot-separated parts.' };
  let claims;
  try {
    claims = JSON.parse(base64UrlDecode(parts[1]));
  } catch {
    return { error: 'The token payload could not be read.' };
  }
  if (!claims || typeof claims.tenant !== 'string' || claims.tenant === '') {
    return { error: 'The token has no tenant claim.' };
  }
  if (typeof claims.exp === 'number' && claims.exp * 1000 <= Date.now()) {
    return { error: `The token expired at ${new Date(claims.exp * 1000).toLocaleString()}.` };
  }
  return { token, claims };
}

const storage = {
  get() {
    try {
      return sessionStorage.getItem(TOKEN_KEY);
    } catch {
      return null;
    }
  },
  set(token) {
    try {
      sessionStorage.setItem(TOKEN_KEY, token);
    } catch {
      // private mode: the session lasts as long as the page
    }
  },
  clear() {
    try {
      sessionStorage.removeItem(TOKEN_KEY);
    } catch {
      // nothing stored
    }
  },
};

// ------------------------------------------------------------------------------------------------
// Formatting

const numberFormat = new Intl.NumberFormat();
const fmtInt = (n) => (n === null || n === undefined ? '—' : numberFormat.format(n));
const fmtPct = (r, digits = 1) => (r === null || r === undefined ? null : `${(r * 100).toFixed(digits)}`);
const fmtMs = (ms) => {
  if (ms === null || ms === undefined) return '—';
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  return `${ms >= 100 ? Math.round(ms) : ms.toFixed(1)} ms`;
};
const fmtTime = (iso) => {
  const d = iso ? new Date(iso) : new Date();
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString([], { hour12: false });
};
const humanStatus = (s) => (s ? s.replace(/_/g, ' ') : '');
const humanAction = (a) => (a ?? '').replace(/^change\./, '').replace(/_/g, ' ');

/** [value, unit] for a duration in hours. */
function durationParts(hours) {
  if (hours === null || hours === undefined) return ['—', ''];
  if (hours < 1) return [String(Math.round(hours * 60)), 'min'];
  if (hours < 48) return [hours.toFixed(1), 'h'];
  return [(hours / 24).toFixed(1), 'd'];
}

// ------------------------------------------------------------------------------------------------
// SVG helpers

const SVG_NS = 'http://www.w3.org/2000/svg';

function svg(tag, attrs = {}, children = []) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  }
  for (const child of children) if (child) el.append(child);
  return el;
}

function svgText(x, y, text, attrs = {}) {
  const el = svg('text', { x, y, ...attrs });
  el.textContent = text;
  return el;
}

function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else node.setAttribute(k, String(v));
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function emptyState(container, message) {
  container.replaceChildren(el('p', { class: 'empty', text: message }));
}

/** A "nice" upper bound for an axis (1, 2, 2.5, 5 × 10^n). */
function niceMax(value) {
  if (!(value > 0)) return 1;
  const exp = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 2, 2.5, 5, 10]) if (value <= m * exp) return m * exp;
  return 10 * exp;
}

/** Path data for a series with gaps (null values break the line). */
function linePath(points) {
  let d = '';
  let pen = false;
  for (const p of points) {
    if (p === null) {
      pen = false;
      continue;
    }
    d += `${pen ? 'L' : 'M'}${p[0].toFixed(1)},${p[1].toFixed(1)}`;
    pen = true;
  }
  return d;
}

const widthOf = (container, fallback) => Math.max(240, Math.floor(container.clientWidth || fallback));

// ------------------------------------------------------------------------------------------------
// State and rendering

const state = {
  kpis: null,
  previousKpis: null,
  system: null,
  /** The last HISTORY metric snapshots: { at, p50, p95, p99, rpm, errorRate }. */
  history: [],
  events: [],
  lastUpdate: null,
};

const COUNT_KPIS = new Set(['totalChanges', 'activeChanges', 'pendingApprovals']);
/** What a KPI tile says when its figure is not defined yet (no data to compute it from). */
const EMPTY_NOTES = {
  meanTimeToApproveHours: 'no approvals yet',
  successRate: 'no finished changes yet',
  emergencyRatio: 'no changes yet',
};

function renderKpis() {
  const k = state.kpis;
  if (!k) return;
  const prev = state.previousKpis;
  for (const tile of document.querySelectorAll('[data-kpi]')) {
    const key = tile.dataset.kpi;
    const value = k[key];
    const valueEl = tile.querySelector('.kpi-value');
    const noteEl = tile.querySelector('.kpi-note');
    tile.dataset.value = value === null || value === undefined ? '' : String(value);
    let text;
    let unit = '';
    if (key === 'meanTimeToApproveHours') [text, unit] = durationParts(value);
    else if (key === 'successRate' || key === 'emergencyRatio') {
      text = fmtPct(value) ?? '—';
      unit = value === null || value === undefined ? '' : '%';
    } else text = fmtInt(value);
    valueEl.replaceChildren(text, unit ? el('span', { class: 'unit', text: unit }) : '');
    tile.dataset.note ??= noteEl.textContent;
    const delta = prev && typeof value === 'number' && typeof prev[key] === 'number' ? value - prev[key] : 0;
    if (delta !== 0 && COUNT_KPIS.has(key)) {
      noteEl.replaceChildren(
        el('span', {
          class: `delta ${delta > 0 ? 'up' : 'down'}`,
          text: `${delta > 0 ? '▲' : '▼'} ${Math.abs(delta)}`,
        }),
        'since last update',
      );
      tile.classList.remove('flash');
      tile.getBoundingClientRect(); // restarts the animation
      tile.classList.add('flash');
    } else if (value === null || value === undefined) {
      noteEl.textContent = EMPTY_NOTES[key] ?? 'no data yet';
    } else {
      noteEl.textContent = tile.dataset.note;
    }
  }
}

function renderStatusChart() {
  const container = $('status-chart');
  const k = state.kpis;
  if (!k) return emptyState(container, 'Waiting for the first snapshot…');
  const counts = new Map((k.changesByStatus ?? []).map((s) => [s.status, s.count]));
  const rows = [...STATUSES, ...[...counts.keys()].filter((s) => !STATUSES.includes(s))].map((status) => ({
    status,
    count: counts.get(status) ?? 0,
  }));
  const total = rows.reduce((sum, r) => sum + r.count, 0);
  $('status-total').textContent = `${fmtInt(total)} change${total === 1 ? '' : 's'}`;
  if (total === 0) return emptyState(container, 'No changes yet. Create one and it shows up here at once.');
  const width = widthOf(container, 560);
  const labelW = 132;
  const valueW = 44;
  const rowH = 24;
  const barH = 14;
  const max = niceMax(Math.max(...rows.map((r) => r.count)));
  const barArea = width - labelW - valueW;
  const chart = svg('svg', {
    viewBox: `0 0 ${width} ${rows.length * rowH}`,
    role: 'img',
    'aria-label': rows.map((r) => `${humanStatus(r.status)}: ${r.count}`).join(', '),
  });
  rows.forEach((r, i) => {
    const y = i * rowH;
    const w = r.count === 0 ? 0 : Math.max(3, (r.count / max) * barArea);
    chart.append(
      svg('g', { 'data-status': r.status, 'data-count': r.count }, [
        svgText(
          0,
          y + rowH / 2 + 4,
          humanStatus(r.status)
            .toLowerCase()
            .replace(/^./, (c) => c.toUpperCase()),
          {
            class: 'label',
          },
        ),
        svg('rect', {
          class: 'track',
          x: labelW,
          y: y + (rowH - barH) / 2,
          width: barArea,
          height: barH,
          rx: 4,
        }),
        svg('rect', {
          class: `bar st-${r.status}`,
          x: labelW,
          y: y + (rowH - barH) / 2,
          width: w,
          height: barH,
          rx: 4,
        }),
        svgText(width, y + rowH / 2 + 4, fmtInt(r.count), {
          class: `value${r.count === 0 ? ' zero' : ''}`,
          'text-anchor': 'end',
        }),
      ]),
    );
  });
  container.replaceChildren(chart);
}

function renderLatencyChart() {
  const container = $('latency-chart');
  const points = state.history;
  const series = [
    ['p50', 'p50'],
    ['p95', 'p95'],
    ['p99', 'p99'],
  ];
  const last = points[points.length - 1];
  for (const li of document.querySelectorAll('[data-series]')) {
    const key = li.dataset.series;
    li.replaceChildren(el('span', { class: `swatch s-${key}` }), `${key} ${last ? fmtMs(last[key]) : '—'}`);
  }
  const values = points.flatMap((p) => series.map(([key]) => p[key])).filter((v) => typeof v === 'number');
  if (points.length === 0) return emptyState(container, 'Waiting for the first snapshot…');
  if (values.length === 0) return emptyState(container, 'No requests measured in the last minute.');
  const width = widthOf(container, 560);
  const height = 250;
  const pad = { left: 52, right: 12, top: 10, bottom: 24 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const max = niceMax(Math.max(...values) * 1.1);
  const x = (i) =>
    pad.left + (HISTORY <= 1 ? plotW : (i + (HISTORY - points.length)) * (plotW / (HISTORY - 1)));
  const y = (v) => pad.top + plotH - (v / max) * plotH;
  const chart = svg('svg', {
    viewBox: `0 0 ${width} ${height}`,
    role: 'img',
    'aria-label': last
      ? `Latency over the last ${points.length} updates; latest p50 ${fmtMs(last.p50)}, p95 ${fmtMs(last.p95)}, p99 ${fmtMs(last.p99)}`
      : 'Latency',
  });
  const ticks = 4;
  for (let t = 0; t <= ticks; t++) {
    const v = (max / ticks) * t;
    const ty = y(v);
    chart.append(
      svg('line', {
        class: t === 0 ? 'axis' : 'gridline',
        x1: pad.left,
        x2: width - pad.right,
        y1: ty,
        y2: ty,
      }),
      svgText(pad.left - 8, ty + 4, `${Number(v.toFixed(1))} ms`, { 'text-anchor': 'end' }),
    );
  }
  // The time axis: the newest snapshot at the right, the oldest one where it sits (if there is room).
  chart.append(svgText(width - pad.right, height - 6, fmtTime(last.at), { 'text-anchor': 'end' }));
  if (width - pad.right - x(0) > 120) {
    chart.append(svgText(x(0), height - 6, fmtTime(points[0].at), { 'text-anchor': 'start' }));
  }
  for (const [key] of series) {
    const pts = points.map((p, i) => (typeof p[key] === 'number' ? [x(i), y(p[key])] : null));
    chart.append(svg('path', { class: `line ${key}`, d: linePath(pts) }));
    const lastPt = [...pts].reverse().find((p) => p !== null);
    if (lastPt) chart.append(svg('circle', { class: `dot ${key}`, cx: lastPt[0], cy: lastPt[1], r: 3 }));
  }
  container.replaceChildren(chart);
}

function renderSpark(container, values, { min = 0 } = {}) {
  const nums = values.filter((v) => typeof v === 'number');
  if (nums.length < 2) {
    container.replaceChildren();
    return;
  }
  const width = widthOf(container, 300);
  const height = 34;
  const max = Math.max(...nums, min + 1e-9);
  // Sparklines stretch over the updates they have; the latency chart keeps a fixed time window.
  const x = (i) => i * (width / (values.length - 1));
  const y = (v) => 2 + (height - 4) * (1 - (v - min) / (max - min || 1));
  const pts = values.map((v, i) => (typeof v === 'number' ? [x(i), y(v)] : null));
  const line = linePath(pts);
  const firstIdx = pts.findIndex((p) => p !== null);
  const lastIdx = pts.length - 1 - [...pts].reverse().findIndex((p) => p !== null);
  const area = `${line}L${pts[lastIdx][0].toFixed(1)},${height}L${pts[firstIdx][0].toFixed(1)},${height}Z`;
  container.replaceChildren(
    svg('svg', { viewBox: `0 0 ${width} ${height}`, 'aria-hidden': 'true', preserveAspectRatio: 'none' }, [
      svg('path', { class: 'area', d: area }),
      svg('path', { class: 'line', d: line }),
    ]),
  );
}

function renderTraffic() {
  const s = state.system;
  const rpm = $('rpm');
  const errorRate = $('error-rate');
  rpm.textContent = s ? fmtInt(s.requestsPerMinute) : '—';
  const pct = s ? fmtPct(s.errorRate, 2) : null;
  errorRate.textContent = pct === null ? '—' : `${pct}%`;
  errorRate.classList.toggle('bad', !!s && typeof s.errorRate === 'number' && s.errorRate >= 0.05);
  $('subscriptions').textContent = s ? fmtInt(s.subscriptions) : '—';
  renderSpark(
    $('rpm-spark'),
    state.history.map((p) => p.rpm),
  );
  renderSpark(
    $('error-spark'),
    state.history.map((p) => (typeof p.errorRate === 'number' ? p.errorRate * 100 : null)),
  );
}

function renderTools() {
  const container = $('tools-chart');
  const tools = [...(state.system?.toolCalls ?? [])].sort(
    (a, b) => b.calls - a.calls || a.tool.localeCompare(b.tool),
  );
  const calls = tools.reduce((sum, t) => sum + t.calls, 0);
  const errors = tools.reduce((sum, t) => sum + t.errors, 0);
  $('tools-total').textContent = state.system
    ? `${fmtInt(calls)} call${calls === 1 ? '' : 's'}${errors ? ` · ${fmtInt(errors)} failed` : ''}`
    : '';
  if (!state.system) return emptyState(container, 'Waiting for the first snapshot…');
  if (tools.length === 0)
    return emptyState(container, 'No MCP tool calls yet. Agents’ calls show up here by tool.');
  const width = widthOf(container, 360);
  const rowH = 34;
  const barH = 8;
  const max = niceMax(Math.max(...tools.map((t) => t.calls)));
  const chart = svg('svg', {
    viewBox: `0 0 ${width} ${tools.length * rowH}`,
    role: 'img',
    'aria-label': tools.map((t) => `${t.tool}: ${t.calls} calls, ${t.errors} errors`).join('; '),
  });
  tools.forEach((t, i) => {
    const y = i * rowH;
    const w = t.calls === 0 ? 0 : Math.max(3, (t.calls / max) * width);
    const ew = t.calls === 0 ? 0 : (t.errors / t.calls) * w;
    chart.append(
      svg('g', { 'data-tool': t.tool, 'data-calls': t.calls, 'data-errors': t.errors }, [
        svgText(0, y + 13, t.tool, { class: 'label' }),
        svgText(width, y + 13, `${fmtInt(t.calls)}${t.errors ? ` · ${fmtInt(t.errors)} err` : ''}`, {
          class: 'value',
          'text-anchor': 'end',
        }),
        svg('rect', { class: 'track', x: 0, y: y + 19, width, height: barH, rx: 4 }),
        svg('rect', { class: 'bar calls', x: 0, y: y + 19, width: w, height: barH, rx: 4 }),
        ew > 0
          ? svg('rect', { class: 'bar errors', x: w - ew, y: y + 19, width: ew, height: barH, rx: 4 })
          : null,
      ]),
    );
  });
  container.replaceChildren(chart);
}

function eventItem(e, fresh) {
  const badge = (status) => el('span', { class: `badge st-${status}`, text: humanStatus(status) });
  const sameState = e.previousStatus && e.previousStatus === e.status;
  return el(
    'li',
    {
      class: `event${fresh ? ' new' : ''}`,
      'data-testid': 'event-item',
      'data-change-id': e.changeId,
      'data-status': e.status,
      'data-previous-status': e.previousStatus ?? '',
      'data-action': e.action,
      title: humanAction(e.action),
    },
    [
      el('time', { class: 'event-time', datetime: e.at, text: fmtTime(e.at) }),
      el('div', { class: 'event-main' }, [
        el('span', { class: 'event-id', text: e.changeId }),
        el('span', { class: 'event-title', text: e.title, title: e.title }),
      ]),
      el('div', { class: 'event-meta' }, [
        el(
          'span',
          { class: 'transition', 'data-testid': 'event-transition' },
          sameState
            ? [badge(e.status), el('span', { class: 'arrow', text: '·' }), humanAction(e.action)]
            : [
                e.previousStatus
                  ? badge(e.previousStatus)
                  : el('span', { class: 'badge new-change', text: 'new' }),
                el('span', { class: 'arrow', text: '→' }),
                badge(e.status),
              ],
        ),
        el('span', {}, ['by ', el('strong', { class: 'event-actor', text: e.actorId })]),
        el('span', { class: 'source', text: `via ${e.source}` }),
      ]),
    ],
  );
}

function renderFeedMeta() {
  const n = state.events.length;
  $('feed-count').textContent = n ? `${n} event${n === 1 ? '' : 's'} this session` : '';
  $('feed-empty').hidden = n > 0;
}

function addEvent(e) {
  state.events.unshift(e);
  const feed = $('event-feed');
  feed.prepend(eventItem(e, true));
  while (state.events.length > MAX_EVENTS) {
    state.events.pop();
    feed.lastElementChild?.remove();
  }
  renderFeedMeta();
}

function renderUpdated() {
  $('updated').textContent = state.lastUpdate
    ? `Figures generated ${new Date(state.lastUpdate).toLocaleString()} · ${state.history.length} update${state.history.length === 1 ? '' : 's'} in view`
    : '';
}

function renderAll() {
  renderKpis();
  renderStatusChart();
  renderLatencyChart();
  renderTraffic();
  renderTools();
  renderUpdated();
}

function onMetrics(m) {
  if (!m) return;
  state.previousKpis = state.kpis;
  state.kpis = m.kpis;
  state.system = m.system;
  state.lastUpdate = m.generatedAt ?? new Date().toISOString();
  const s = m.system ?? {};
  state.history.push({
    at: state.lastUpdate,
    p50: s.latencyP50Ms ?? null,
    p95: s.latencyP95Ms ?? null,
    p99: s.latencyP99Ms ?? null,
    rpm: s.requestsPerMinute ?? null,
    errorRate: s.errorRate ?? null,
  });
  if (state.history.length > HISTORY) state.history.splice(0, state.history.length - HISTORY);
  renderAll();
}

function resetState() {
  state.kpis = null;
  state.previousKpis = null;
  state.system = null;
  state.history = [];
  state.events = [];
  state.lastUpdate = null;
  $('event-feed').replaceChildren();
  for (const tile of document.querySelectorAll('[data-kpi]')) {
    tile.dataset.value = '';
    tile.querySelector('.kpi-value').textContent = '—';
    if (tile.dataset.note) tile.querySelector('.kpi-note').textContent = tile.dataset.note;
  }
  renderFeedMeta();
  renderAll();
}

// Charts follow their container's width so that text stays at its natural size.
let resizeFrame = 0;
const resizeObserver = new ResizeObserver(() => {
  cancelAnimationFrame(resizeFrame);
  resizeFrame = requestAnimationFrame(() => {
    renderStatusChart();
    renderLatencyChart();
    renderTraffic();
    renderTools();
  });
});

// ------------------------------------------------------------------------------------------------
// Connection status and banner

const statusNode = () => document.querySelector('[data-testid="connection-status"]');

function setStatus(status, transport) {
  const node = statusNode();
  node.dataset.state = status;
  node.textContent = status;
  if (transport !== undefined) $('transport').textContent = transport;
}

function showBanner(message, kind = 'warn') {
  const banner = $('banner');
  banner.hidden = !message;
  banner.textContent = message ?? '';
  banner.dataset.kind = kind;
}

// ------------------------------------------------------------------------------------------------
// Transport: HTTP for the first read, WebSocket for subscriptions, SSE when WebSocket fails.

async function graphqlHttp(token, query, variables) {
  const res = await fetch(ENDPOINT, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
    },
    body: JSON.stringify({ query, variables }),
  });
  let body = null;
  try {
    body = await res.json();
  } catch {
    // not JSON: reported below by status
  }
  if (!body) throw new Error(`The server answered ${res.status} ${res.statusText}`);
  return body;
}

const errorCode = (errors) => errors?.find((e) => e?.extensions?.code)?.extensions?.code ?? null;
const isAuthFailure = (errors) => AUTH_ERROR_CODES.has(errorCode(errors));
const messageOf = (errors) => errors?.map((e) => e.message).join('; ') || 'Unknown error';

const sleep = (ms, signal) =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
const backoff = (attempt) => Math.min(15_000, 500 * 2 ** attempt) * (0.75 + Math.random() * 0.5);

/**
 * The socket's URL with a fresh single-use ticket: a browser cannot put the token in a header on
 * a WebSocket upgrade, and the server refuses an upgrade without a credential. Asked for at every
 * (re)connect, since each ticket opens one socket and lives 30 s.
 */
async function wsUrl(token, onAuthFailed) {
  const res = await fetch(`${ENDPOINT}/ws-ticket`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
  });
  if (res.status === 401 || res.status === 403) {
    onAuthFailed(`The server refused the token (${res.status})`);
    throw new Error('ticket refused');
  }
  if (!res.ok) throw new Error(`ws-ticket answered ${res.status}`);
  const { ticket } = await res.json();
  const url = new URL(ENDPOINT, location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  url.searchParams.set('ticket', ticket);
  return url.href;
}

/**
 * Subscribes over graphql-transport-ws. Reconnects with back-off for as long as the page is open;
 * calls `fallback()` if the socket never got through (a proxy without WebSocket, for instance).
 */
async function connectWebSocket(session, handlers) {
  const { createClient } = await import('/vendor/graphql-ws.js');
  let connectedOnce = false;
  let failures = 0;
  let disposed = false;
  const client = createClient({
    url: () => wsUrl(session.token, (reason) => !disposed && handlers.authFailed(reason)),
    lazy: false,
    keepAlive: 20_000,
    retryAttempts: Number.POSITIVE_INFINITY,
    connectionParams: () => ({ authorization: `Bearer ${session.token}` }),
    shouldRetry: (e) => !(e && typeof e.code === 'number' && AUTH_CLOSE_CODES.has(e.code)),
    retryWait: (retries) => sleep(backoff(retries)),
    onNonLazyError: (e) => {
      if (!disposed) handlers.fatal(e);
    },
    on: {
      connecting: (isRetry) => {
        if (!disposed) setStatus(isRetry ? 'reconnecting' : 'connecting', 'WebSocket');
      },
      connected: () => {
        connectedOnce = true;
        failures = 0;
      },
      closed: (e) => {
        if (disposed) return;
        if (e && AUTH_CLOSE_CODES.has(e.code)) return handlers.authFailed(e.reason || `closed ${e.code}`);
        setStatus('reconnecting', 'WebSocket');
        if (!connectedOnce && ++failures >= 2) handlers.fallback();
      },
    },
  });
  const sink = (onData) => ({
    next: (result) => {
      if (result.errors?.length) handlers.errors(result.errors);
      if (result.data) onData(result.data);
    },
    error: (e) => {
      if (disposed) return;
      if (Array.isArray(e)) handlers.errors(e);
      else if (e && AUTH_CLOSE_CODES.has(e.code)) handlers.authFailed(e.reason || `closed ${e.code}`);
      else handlers.fatal(e);
    },
    complete: () => {},
  });
  // Events first: by the time the first metrics snapshot marks the page live, both are subscribed.
  const stopEvents = client.subscribe({ query: EVENTS_SUBSCRIPTION }, sink(handlers.event));
  const stopMetrics = client.subscribe({ query: METRICS_SUBSCRIPTION }, sink(handlers.metrics));
  return {
    transport: 'WebSocket',
    dispose() {
      disposed = true;
      stopEvents();
      stopMetrics();
      // Rejects when the socket never opened; nothing to do about it then.
      Promise.resolve(client.dispose()).catch(() => {});
    },
  };
}

/** One subscription over SSE (POST with Accept: text/event-stream), re-opened when it ends. */
function sseSubscribe(session, query, onResult, handlers, signal) {
  (async () => {
    for (let attempt = 0; !signal.aborted; attempt++) {
      try {
        const res = await fetch(ENDPOINT, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${session.token}`,
            'content-type': 'application/json',
            accept: 'text/event-stream',
          },
          body: JSON.stringify({ query }),
          signal,
        });
        if (!(res.headers.get('content-type') ?? '').includes('text/event-stream')) {
          const body = await res.json().catch(() => null);
          if (body?.errors && isAuthFailure(body.errors)) return handlers.authFailed(messageOf(body.errors));
          throw new Error(body?.errors ? messageOf(body.errors) : `The server answered ${res.status}`);
        }
        attempt = 0;
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          const blocks = buffer.split(/\r?\n\r?\n/);
          buffer = blocks.pop() ?? '';
          for (const block of blocks) {
            let event = 'message';
            const data = [];
            for (const line of block.split(/\r?\n/)) {
              if (line.startsWith('event:')) event = line.slice(6).trim();
              else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
            }
            if ((event === 'next' || event === 'message') && data.length && data.join('') !== '') {
              const result = JSON.parse(data.join('\n'));
              if (result.errors?.length) {
                if (isAuthFailure(result.errors)) return handlers.authFailed(messageOf(result.errors));
                handlers.errors(result.errors);
              }
              if (result.data) onResult(result.data);
            }
          }
        }
      } catch (e) {
        if (signal.aborted) return;
        handlers.transient(e);
      }
      if (signal.aborted) return;
      setStatus('reconnecting', 'SSE');
      await sleep(backoff(attempt), signal);
    }
  })();
}

function connectSse(session, handlers) {
  const controller = new AbortController();
  setStatus('connecting', 'SSE');
  sseSubscribe(session, EVENTS_SUBSCRIPTION, handlers.event, handlers, controller.signal);
  sseSubscribe(session, METRICS_SUBSCRIPTION, handlers.metrics, handlers, controller.signal);
  return { transport: 'SSE', dispose: () => controller.abort() };
}

// ------------------------------------------------------------------------------------------------
// Session

let connection = null;
let expiryTimer = 0;
/** Bumped by every sign-in and sign-out, so that late answers of an old session are dropped. */
let sessionSeq = 0;

function disconnect() {
  sessionSeq++;
  connection?.dispose();
  connection = null;
  clearTimeout(expiryTimer);
}

function showSignIn(error) {
  disconnect();
  $('session').hidden = true;
  $('dashboard').hidden = true;
  $('signin').hidden = false;
  const errorEl = $('signin-error');
  errorEl.hidden = !error;
  errorEl.textContent = error ?? '';
  setStatus('offline', '');
  $('token').focus();
}

function signOut(error) {
  storage.clear();
  resetState();
  $('token').value = '';
  showSignIn(error);
}

async function startSession(session) {
  disconnect();
  const seq = ++sessionSeq;
  resetState();
  showBanner(null);
  $('signin').hidden = true;
  $('session').hidden = false;
  $('dashboard').hidden = false;
  $('who-sub').textContent = session.claims.name ?? session.claims.sub ?? 'unknown';
  $('who-tenant').textContent = session.claims.tenant;
  setStatus('connecting', '');
  if (typeof session.claims.exp === 'number') {
    const ms = session.claims.exp * 1000 - Date.now();
    // setTimeout's limit is about 24.8 days; longer tokens are checked again on the next visit.
    if (ms < 2 ** 31 - 1) expiryTimer = setTimeout(() => signOut('Your session expired: sign in again.'), ms);
  }

  let fellBack = false;
  const handlers = {
    metrics: (data) => {
      if (!data?.metrics || seq !== sessionSeq) return;
      onMetrics(data.metrics);
      // Live once a snapshot came through the subscription (both are registered by then).
      if (statusNode().dataset.state !== 'live') {
        setStatus('live', connection?.transport ?? '');
        showBanner(null);
      }
    },
    event: (data) => {
      if (data?.changeEvents && seq === sessionSeq) addEvent(data.changeEvents);
    },
    errors: (errors) => {
      if (seq !== sessionSeq) return;
      if (isAuthFailure(errors)) return signOut(`The server refused the token: ${messageOf(errors)}`);
      showBanner(`The server reported: ${messageOf(errors)}`, 'error');
    },
    authFailed: (reason) => {
      if (seq === sessionSeq) signOut(`The server refused the token (${reason}).`);
    },
    fatal: (e) => {
      if (seq !== sessionSeq) return;
      setStatus('error');
      showBanner(
        `Live updates stopped: ${e?.reason || e?.message || 'the connection failed'}. Reload to retry.`,
        'error',
      );
    },
    transient: (e) => {
      if (seq !== sessionSeq) return;
      showBanner(`Connection problem, retrying: ${e?.message ?? e}`);
    },
    fallback: () => {
      if (fellBack || seq !== sessionSeq) return;
      fellBack = true;
      connection?.dispose();
      connection = connectSse(session, handlers);
    },
  };

  // A first snapshot over HTTP: figures at once, and a clear message if the token is refused.
  try {
    const body = await graphqlHttp(session.token, LIVE_QUERY);
    if (body.errors?.length && isAuthFailure(body.errors)) {
      return signOut(`The server refused the token: ${messageOf(body.errors)}`);
    }
    if (body.data?.liveMetrics) onMetrics(body.data.liveMetrics);
    else if (body.errors?.length) showBanner(`The server reported: ${messageOf(body.errors)}`, 'error');
  } catch (e) {
    showBanner(`Cannot reach the server (${e.message}); retrying in the background.`);
  }
  if (seq !== sessionSeq) return; // signed out (or in again) meanwhile

  try {
    connection = await connectWebSocket(session, handlers);
  } catch (e) {
    console.warn('WebSocket client unavailable, using SSE', e);
    connection = connectSse(session, handlers);
  }
}

function signIn(raw) {
  const decoded = decodeToken(raw);
  if (decoded.error) return showSignIn(decoded.error);
  storage.set(decoded.token);
  startSession(decoded);
}

function init() {
  for (const id of ['status-chart', 'latency-chart', 'tools-chart', 'rpm-spark', 'error-spark']) {
    resizeObserver.observe($(id));
  }
  $('signin-form').addEventListener('submit', (e) => {
    e.preventDefault();
    signIn($('token').value);
  });
  $('token').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      signIn($('token').value);
    }
  });
  $('sign-out').addEventListener('click', () => signOut());
  renderFeedMeta();
  const stored = storage.get();
  if (stored) {
    const decoded = decodeToken(stored);
    if (decoded.error) signOut(decoded.error);
    else startSession(decoded);
  } else {
    showSignIn();
  }
}

init();
