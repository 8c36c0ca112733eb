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

/** The conversation of a ticket as the employee sees it, oldest first. */
export function conversation(t) {
  const server = t.server;
  if (!server) return [];
  // The desk never sends internal notes to a device.
  return (server.comments || []).map((c) => ({
    mine: c.author === 'employee',
    body: c.body,
    at: c.created_at,
  }));
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

/** Whether the employee may rate (once resolved or closed). */
export function canRate(t) {
  const s = t.server;
  return !!s && (s.status === 'resolved' || s.status === 'closed');
}

/** Whether the employee may reopen (as the desk allows: resolved or closed). */
export function canReopen(t) {
  const s = t.server;
  return !!s && (s.status === 'resolved' || s.status === 'closed');
}

/** The sections of a diagnostics bundle preview: [key, content]. */
export function previewSections(bundle) {
  const sections = [
    ['ui.preview.device', bundle.device],
    ['ui.preview.software_changes', bundle.software_changes],
    ['ui.preview.checks', bundle.check_results],
    ['ui.preview.metrics', bundle.metrics],
    ['ui.preview.processes', bundle.processes],
    ['ui.preview.network', bundle.network],
    ['ui.preview.logs', bundle.logs],
    ['ui.preview.config', bundle.config],
  ];
  return sections.filter(([, v]) => v != null && !(Array.isArray(v) && v.length === 0));
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
