// View logic of the tray app's windows: pure functions, no DOM and no
// Tauri, so that Vitest checks them (ui/views.test.js).

/** Fills `{name}` placeholders. */
export function format(template, args = {}) {
  return String(template).replace(/\{(\w+)\}/g, (m, name) => (name in args ? String(args[name]) : m));
}

export const CATEGORIES = ['hardware', 'software', 'network', 'account', 'printer', 'other'];
// Employee wording, most urgent first; the values are the protocol's.
export const URGENCIES = ['high', 'medium', 'low'];
// "Something is broken" (the default) or "I need something".
export const TICKET_TYPES = ['incident', 'service_request'];

/** Validation of the Report a problem form: field → message key. */
export function validateReport(form) {
  const errors = {};
  const subject = (form.subject || '').trim();
  if (!subject) errors.subject = 'ui.validation.subject';
  else if ([...subject].length > 200) errors.subject = 'ui.validation.subject_long';
  if (!CATEGORIES.includes(form.category)) errors.category = 'ui.validation.category';
  if (!URGENCIES.includes(form.urgency)) errors.urgency = 'ui.validation.urgency';
  if (form.ticket_type !== undefined && !TICKET_TYPES.includes(form.ticket_type)) errors.kind = 'ui.validation.kind';
  return errors;
}

/** What the list of tickets shows for one ticket. */
export function ticketRow(t) {
  const queued = t.delivery === 'queued' || t.delivery === 'sent';
  return {
    id: t.local_id,
    subject: t.subject,
    number: t.server_id ?? null,
    statusKey: queued ? 'ui.tickets.queued' : `ticket.status.${t.status}`,
    unread: t.unread || 0,
  };
}

/** The kinds of notes the desk writes by itself that the tray words. */
export const DESK_NOTES = ['verified_by_device', 'failed_again', 'relapsed'];

/** The conversation of a ticket as the employee sees it, oldest first. A
 * note the desk wrote by itself carries `note`: its message key and
 * arguments (the check's title from `titles`, by id, else its id); the
 * desk's English `body` stays for kinds this tray does not know. */
export function conversation(t, titles = {}) {
  const server = t.server;
  if (!server) return [];
  // The desk never sends internal notes to a device.
  return (server.comments || []).map((c) => {
    const n = c.note;
    const known = n && DESK_NOTES.includes(n.kind);
    return {
      mine: c.author === 'employee' && !n,
      desk: !!n,
      body: c.body,
      at: c.created_at,
      note: known ? {
        key: `ui.tickets.note.${n.kind}`,
        args: { check: titles[n.check_id] ?? n.check_id, time: n.at },
      } : null,
    };
  });
}

/** What the desk refused for good about a ticket, newest first: a message
 * key per kind (rating, reopen, comment) and the desk's reason. */
export function refusals(t) {
  const kinds = ['rating', 'reopen', 'comment'];
  return (t.refused || []).map((d) => ({
    key: `ui.tickets.refused.${kinds.includes(d.kind) ? d.kind : 'other'}`,
    reason: d.error,
    at: d.failed_at,
  }));
}

/** Whether the employee may rate: once resolved or closed, and once the
 * desk's watch of the fix (`rating_opens_at`) is over at `now` (ms). */
export function canRate(t, now = Date.now()) {
  const s = t.server;
  return !!s && (s.status === 'resolved' || s.status === 'closed') && !ratingWaits(t, now);
}

/** When the rating opens, if the desk still watches the fix at `now`
 * (ms): its ISO time, else null. */
export function ratingWaits(t, now = Date.now()) {
  const s = t.server;
  if (!s || !(s.status === 'resolved' || s.status === 'closed') || !s.rating_opens_at) return null;
  return Date.parse(s.rating_opens_at) > now ? s.rating_opens_at : null;
}

/** Whether the employee may reopen (as the desk allows: resolved or closed). */
export function canReopen(t) {
  const s = t.server;
  return !!s && (s.status === 'resolved' || s.status === 'closed');
}

/** The key of the overall health line. */
export function overallKey(health) {
  return `ui.health.overall.${health.overall ?? 'none'}`;
}

/** The device summary as text for the clipboard (phone support). */
export function summaryText(rows, texts) {
  return rows.map(([key, value]) => `${texts[key] ?? key}: ${value}`).join('\n');
}

/** The status line's key for the desk connection. */
export function syncKey(status) {
  if (!status.server) return 'ui.about.not_enrolled';
  if (status.needs_enrollment) return 'ui.sync.needs_enrollment';
  return status.last_error ? 'ui.sync.offline' : 'ui.sync.online';
}

/**
 * An SVG path of a line chart of percentages (0-100) in a width x height
 * box, oldest value at the left; gaps (null) break the line.
 */
export function sparkline(values, width, height) {
  if (values.length === 0) return '';
  // A single measurement is a level line, not an invisible dot.
  if (values.length === 1) return sparkline([values[0], values[0]], width, height);
  const step = values.length > 1 ? width / (values.length - 1) : 0;
  let path = '';
  let pen = false;
  values.forEach((v, i) => {
    if (v == null) { pen = false; return; }
    const clamped = Math.max(0, Math.min(100, v));
    const x = (i * step).toFixed(1);
    const y = (height - (clamped / 100) * height).toFixed(1);
    path += `${pen ? 'L' : 'M'}${x} ${y} `;
    pen = true;
  });
  return path.trim();
}

/** The last known value of a series, rounded, or null. */
export function latest(values) {
  for (let i = values.length - 1; i >= 0; i -= 1) {
    if (values[i] != null) return Math.round(values[i]);
  }
  return null;
}

/** A file size for people: "812B", "14 kB", "3.2 MB" in `locale`. */
export function fileSize(bytes, locale = 'en') {
  const units = [['megabyte', 1e6], ['kilobyte', 1e3]];
  for (const [unit, size] of units) {
    if (bytes >= size) {
      return new Intl.NumberFormat(locale, { style: 'unit', unit, maximumFractionDigits: bytes >= 10 * size ? 0 : 1 }).format(bytes / size);
    }
  }
  return new Intl.NumberFormat(locale, { style: 'unit', unit: 'byte', unitDisplay: 'narrow' }).format(bytes);
}

/** Parts of the diagnostics an employee may leave out of one report. */
export const LEAVE_OUT = ['processes', 'logs', 'metrics', 'screenshot', 'files'];

function gib(bytes) {
  return bytes == null ? null : `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}

/** CPU and memory percentages over the bundle's day: one-minute rollups,
 * then the last hour's full samples, oldest first. */
export function dayCharts(metrics) {
  const total = metrics?.current?.memory?.total_bytes ?? metrics?.history?.find((s) => s.memory)?.memory?.total_bytes;
  const pct = (used) => (used == null || !total ? null : (used / total) * 100);
  const cpu = [];
  const memory = [];
  for (const r of metrics?.rollups ?? []) {
    cpu.push(r.cpu_avg_percent ?? null);
    memory.push(pct(r.memory_used_avg_bytes));
  }
  for (const s of metrics?.history ?? []) {
    cpu.push(s.cpu?.usage_percent ?? null);
    memory.push(s.memory ? pct(s.memory.used_bytes) : null);
  }
  return { cpu, memory };
}

/**
 * The diagnostics preview as a person reads it: one section per part,
 * each with lines (a message key and its arguments) and the exact JSON
 * it stands for. `checks` are the failing checks as Device health words
 * them (title, localized message); `leftOut` the parts the employee
 * leaves out of this report.
 */
export function readablePreview(bundle, checks = [], leftOut = []) {
  const out = [];
  const add = (id, titleKey, lines, json, extra = {}) => out.push({
    id, titleKey, lines, json, excludable: LEAVE_OUT.includes(id), excluded: leftOut.includes(id), ...extra,
  });
  const d = bundle.device;
  if (d) {
    const sys = d.hardware?.system;
    const model = [sys?.vendor, sys?.model].filter(Boolean).join(' ');
    const lines = [{ key: 'ui.preview.line.computer', args: { name: d.device?.hostname ?? '—', os: d.os?.long_name ?? d.os?.name ?? '—' } }];
    if (model) lines.push({ key: 'ui.preview.line.model', args: { model } });
    const memory = gib(d.hardware?.memory?.total_bytes);
    if (memory) lines.push({ key: 'ui.preview.line.memory', args: { size: memory } });
    lines.push({ key: 'ui.preview.line.software', args: { count: bundle.software_count ?? 0 } });
    add('device', 'ui.preview.device', lines, d);
  }
  if (bundle.software_changes?.length) {
    add('software_changes', 'ui.preview.software_changes',
      [{ key: 'ui.preview.line.changes', args: { count: bundle.software_changes.length } }], bundle.software_changes);
  }
  const results = bundle.check_results ?? [];
  if (results.length) {
    const failing = results.filter((r) => r.alert_state === 'warning' || r.alert_state === 'critical').length;
    const lines = [{ key: 'ui.preview.line.checks', args: { count: results.length, failing } }];
    for (const c of checks) lines.push({ text: `${c.title}: ${c.message ?? ''}`.trim() });
    add('checks', 'ui.preview.checks', lines, results);
  }
  const charts = dayCharts(bundle.metrics);
  if (charts.cpu.length || bundle.metrics?.current) {
    add('metrics', 'ui.preview.metrics', [{ key: 'ui.preview.line.metrics', args: { count: charts.cpu.length } }], bundle.metrics, { charts });
  }
  // The busiest programs by CPU; when none used any CPU while the bundle
  // was made (an idle machine), by memory: the list is in the bundle
  // either way, so the employee sees it and may leave it out.
  const byCpu = bundle.processes?.by_cpu ?? [];
  const procs = byCpu.length ? byCpu : (bundle.processes?.by_memory ?? []);
  if (procs.length) {
    add('processes', 'ui.preview.processes', procs.slice(0, 5).map((p) => ({
      key: 'ui.preview.line.process', args: { name: p.name, cpu: Math.round(p.cpu_percent), memory: gib(p.memory_bytes) },
    })), bundle.processes);
  }
  const n = bundle.network;
  if (n) {
    const lines = [];
    for (const i of n.interfaces ?? []) {
      const addrs = [...(i.ipv4 ?? []), ...(i.ipv6 ?? [])].map((a) => a.address).filter((a) => a !== '127.0.0.1' && a !== '::1');
      if (addrs.length) lines.push({ key: 'ui.preview.line.interface', args: { name: i.name, addresses: addrs.join(', ') } });
    }
    if (n.default_route) lines.push({ key: 'ui.preview.line.gateway', args: { gateway: n.default_route.gateway } });
    if (n.dns_servers?.length) lines.push({ key: 'ui.preview.line.dns', args: { servers: n.dns_servers.join(', ') } });
    if (n.desk) lines.push({ key: n.desk.reachable ? 'ui.preview.line.desk_ok' : 'ui.preview.line.desk_down', args: { url: n.desk.url } });
    add('network', 'ui.preview.network', lines, n);
  }
  if (bundle.logs?.length) {
    add('logs', 'ui.preview.logs', [
      { key: 'ui.preview.line.logs', args: { count: bundle.logs.length } },
      ...bundle.logs.slice(-3).map((l) => ({ text: l, mono: true })),
    ], bundle.logs);
  }
  if (bundle.config) {
    const server = bundle.config?.desk?.server_url;
    add('config', 'ui.preview.config', [{ key: 'ui.preview.line.config', args: { server: server ?? '—' } }], bundle.config);
  }
  return out;
}
