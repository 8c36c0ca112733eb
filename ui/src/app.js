// The tray app's windows. One page; `?view=` picks the window. Every text
// comes from the agent's catalogs (en, ko, ja) through the `strings`
// command; nothing user-facing is written here. Text from the desk is
// always set with textContent; an article's body is parsed in an inert
// document and only plain structure copied over (article.js).

import {
  CATEGORIES, TICKET_TYPES, URGENCIES, canRate, canReopen, conversation, ratingWaits, fileSize, format, latest, overallKey,
  readablePreview, refusals, sparkline, summaryText, syncKey, ticketRow, validateReport,
} from './views.js';
import { articleNodes } from './article.js';

const tauri = window.__TAURI__;
const invoke = (cmd, args) => tauri.core.invoke(cmd, args);
const params = new URLSearchParams(location.search);
const view = params.get('view') || 'health';
// What to show in the window (a ticket, when a notification was clicked).
const item = params.get('item');
const main = document.getElementById('view');
let texts = {};
let locale = 'en';

const t = (key, args) => format(texts[key] ?? key, args);

/** An element with attributes and children (strings become text). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c != null && c !== false) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function when(iso) {
  if (!iso) return t('ui.about.never');
  return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso));
}

function showError(e) {
  const message = e && e.message ? e.message : String(e);
  main.prepend(h('p', { class: ['notice', 'error'], role: 'alert' }, t('ui.error', { message })));
}

async function loadStrings() {
  const s = await invoke('strings');
  texts = s.texts;
  locale = s.locale;
  document.documentElement.lang = locale;
  document.title = t(`window.${view}.title`);
}

async function renderStatus() {
  const status = await invoke('status');
  const header = document.getElementById('status');
  const key = syncKey(status);
  header.className = key.split('.').pop();
  header.replaceChildren(t(key));
}

// Report a problem -------------------------------------------------------

function field(id, labelKey, control, help) {
  return h('div', {}, h('label', { for: id }, t(labelKey)), help, control, h('div', { class: 'error', id: `${id}-error` }));
}

function renderReport() {
  const subject = h('input', { type: 'text', id: 'subject', maxlength: 400, placeholder: t('ui.report.subject.placeholder'), 'aria-describedby': 'subject-error' });
  const description = h('textarea', { id: 'description', placeholder: t('ui.report.description.placeholder') });
  const category = h('select', { id: 'category', 'aria-describedby': 'category-error' },
    h('option', { value: '' }, ''),
    CATEGORIES.map((c) => h('option', { value: c }, t(`ui.category.${c}`))));
  const kind = h('fieldset', { id: 'kind', 'aria-describedby': 'kind-error' },
    h('legend', {}, t('ui.report.kind')),
    TICKET_TYPES.map((k) => h('label', { class: 'choice' },
      h('input', { type: 'radio', name: 'kind', value: k, checked: k === 'incident' }), t(`ui.ticket_type.${k}`))),
    h('div', { class: 'error', id: 'kind-error' }));
  const urgency = h('fieldset', { id: 'urgency', 'aria-describedby': 'urgency-error' },
    h('legend', {}, t('ui.report.urgency')),
    URGENCIES.map((u) => h('label', { class: 'choice' }, h('input', { type: 'radio', name: 'urgency', value: u }), t(`ui.urgency.${u}`))),
    h('div', { class: 'error', id: 'urgency-error' }));
  const diagnostics = h('input', { type: 'checkbox', id: 'diagnostics', checked: true });
  const shot = h('div', { id: 'screenshot' });
  // The native input's own texts are WebKit's, not ours: it stays hidden
  // behind a button that speaks the employee's language.
  const fileInput = h('input', { type: 'file', id: 'files', multiple: true, hidden: true });
  const addButton = h('button', { type: 'button', id: 'add-files', onclick: () => fileInput.click(), 'aria-describedby': ['files-help', 'files-error'].join(' ') },
    t('ui.report.files.add'));
  const fileList = h('ul', { class: ['list', 'files'], id: 'file-list' });
  fileInput.addEventListener('change', () => addFiles(fileInput, fileList));
  // Articles that may answer it, from those kept on this computer (found
  // as the employee types, also offline); a failing check's first.
  const suggestions = h('section', { id: 'suggestions', 'aria-live': 'polite' });
  const preview = h('div', { id: 'preview' });
  const previewButton = h('button', { type: 'button', id: 'preview-button', onclick: () => showPreview(preview) }, t('ui.report.preview'));
  const submit = h('button', { type: 'submit', class: 'primary', id: 'submit' }, t('ui.report.submit'));
  const form = h('form', { id: 'report', novalidate: true },
    h('h1', {}, t('window.report.title')),
    h('p', { class: 'intro' }, t('ui.report.intro')),
    kind,
    field('subject', 'ui.report.subject', subject),
    field('description', 'ui.report.description', description),
    suggestions,
    field('category', 'ui.report.category', category),
    urgency,
    h('label', { class: 'choice' }, diagnostics, t('ui.report.diagnostics')),
    h('p', { class: 'help' }, t('ui.report.diagnostics.help')),
    shot,
    h('span', { class: 'label' }, t('ui.report.files')),
    h('p', { class: 'help', id: 'files-help' }, t('ui.report.files.help')),
    fileInput, addButton, h('div', { class: 'error', id: 'files-error' }), fileList,
    previewButton, preview,
    h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const values = {
      subject: subject.value,
      description: description.value,
      category: category.value,
      urgency: form.querySelector('input[name=urgency]:checked')?.value,
      ticket_type: form.querySelector('input[name=kind]:checked')?.value ?? 'incident',
      include_diagnostics: diagnostics.checked,
      leave_out: [...draft.leaveOut],
    };
    const errors = validateReport(values);
    for (const id of ['kind', 'subject', 'category', 'urgency']) {
      document.getElementById(`${id}-error`).textContent = errors[id] ? t(errors[id]) : '';
      document.getElementById(id).setAttribute('aria-invalid', errors[id] ? 'true' : 'false');
    }
    const first = Object.keys(errors)[0];
    if (first) { document.getElementById(first).focus(); return; }
    submit.disabled = true;
    submit.textContent = t('ui.report.sending');
    try {
      const ticket = await invoke('submit_ticket', { form: values });
      showSubmitted(ticket.local_id);
    } catch (e) {
      submit.disabled = false;
      submit.textContent = t('ui.report.submit');
      showError(e);
    }
  });
  // A message goes as soon as its field is put right.
  const clear = (id) => () => {
    document.getElementById(`${id}-error`).textContent = '';
    document.getElementById(id).setAttribute('aria-invalid', 'false');
  };
  subject.addEventListener('input', clear('subject'));
  let pending = null;
  const suggest = () => {
    clearTimeout(pending);
    pending = setTimeout(() => showSuggestions(suggestions, form, `${subject.value}\n${description.value}`), 150);
  };
  subject.addEventListener('input', suggest);
  description.addEventListener('input', suggest);
  category.addEventListener('change', clear('category'));
  urgency.addEventListener('change', clear('urgency'));
  main.replaceChildren(form);
  subject.focus();
  draft = { screenshot: null, files: [], leaveOut: new Set() };
  loadScreenshot(shot);
  invoke('report_started').catch(() => {}).finally(suggest);
  // Articles arrive with a check-in: offer them as soon as they are here.
  onChange(suggest);
}

async function showSuggestions(container, form, text) {
  if (form.hidden) return;
  let found;
  try { found = await invoke('kb_suggest', { text }); } catch { return; }
  if (!found.length) { container.replaceChildren(); return; }
  container.replaceChildren(
    h('h2', {}, t('ui.kb.suggestions')),
    h('ul', { class: ['list', 'suggestions'] }, found.map((a) => h('li', {},
      h('button', { type: 'button', class: 'suggestion', 'data-article': a.id, onclick: () => openArticle(form, a.id) },
        h('span', {}, h('strong', {}, a.title),
          a.for_check ? h('span', { class: 'help' }, ' ', t('ui.kb.for_check', { check: a.for_check })) : '',
          h('br'), h('span', { class: 'help' }, a.snippet)))))));
}

/** An article over the report form: it solved the problem (no ticket)
 * or the employee goes on with the report, as they left it. */
async function openArticle(form, id) {
  let article;
  try { article = await invoke('kb_article', { id }); } catch (e) { showError(e); return; }
  if (!article) return;
  const back = () => {
    panel.remove();
    form.hidden = false;
    document.getElementById('subject').focus();
  };
  const solved = h('button', { type: 'button', class: 'primary', id: 'solved', onclick: async () => {
    try {
      await invoke('report_solved', { article: id });
      const again = h('button', { type: 'button', onclick: renderReport }, t('ui.report.another'));
      main.replaceChildren(h('h1', {}, t('window.report.title')),
        h('p', { class: 'notice', id: 'deflected', role: 'status' }, t('ui.kb.solved.done')),
        h('div', { class: 'actions' }, again));
      onChange(null);
    } catch (e) { showError(e); }
  } }, t('ui.kb.solved'));
  const more = h('button', { type: 'button', id: 'still-need-help', onclick: back }, t('ui.kb.still_need_help'));
  const panel = h('article', { id: 'article', class: 'article' },
    h('h1', {}, article.title),
    h('div', { class: 'article-body' }, articleNodes(article.html)),
    h('p', { class: 'help' }, t('ui.kb.ask')),
    h('div', { class: 'actions' }, solved, more));
  form.hidden = true;
  main.append(panel);
  solved.focus();
}

// The screenshot and files of the report: the app holds them (pages never
// see paths); this is what the form shows of them.
let draft = { screenshot: null, files: [], leaveOut: new Set() };

async function loadScreenshot(container) {
  const d = await invoke('report_draft');
  draft.screenshot = d.screenshot;
  draft.files = d.files;
  if (!d.screenshot) { container.replaceChildren(); return; }
  const remove = h('button', { type: 'button', id: 'remove-screenshot', onclick: async () => {
    try {
      await invoke('remove_screenshot');
      draft.screenshot = null;
      container.replaceChildren(h('p', { class: 'help', id: 'screenshot-removed', role: 'status' }, t('ui.report.screenshot.removed')));
      document.getElementById('add-files').focus();
    } catch (e) { showError(e); }
  } }, t('ui.report.screenshot.remove'));
  container.replaceChildren(
    h('span', { class: 'label' }, t('ui.report.screenshot')),
    h('p', { class: 'help' }, t('ui.report.screenshot.help')),
    h('img', { class: 'thumb', id: 'screenshot-image', src: d.screenshot, alt: t('ui.report.screenshot.alt') }),
    h('div', {}, remove));
}

async function addFiles(input, list) {
  const error = document.getElementById('files-error');
  error.textContent = '';
  for (const file of input.files) {
    try {
      draft.files.push(await invoke('add_file', { name: file.name, data: await readAsDataUrl(file) }));
    } catch (e) {
      error.textContent = e && e.message ? e.message : String(e);
    }
  }
  input.value = '';
  renderFiles(list);
}

function readAsDataUrl(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

function renderFiles(list) {
  list.replaceChildren(...draft.files.map((f) => h('li', { class: 'file' },
    h('span', {}, f.name, ' ', h('span', { class: 'help' }, fileSize(f.size, locale))),
    h('button', { type: 'button', 'aria-label': t('ui.report.files.remove', { name: f.name }), onclick: async () => {
      try {
        await invoke('remove_file', { id: f.id });
        draft.files = draft.files.filter((x) => x.id !== f.id);
        renderFiles(list);
      } catch (e) { showError(e); }
    } }, '×'))));
}

async function showPreview(container) {
  container.replaceChildren(h('p', { class: 'help' }, t('ui.report.preview.loading')));
  try {
    const { bundle, checks } = await invoke('preview_diagnostics', { leave_out: [...draft.leaveOut] });
    const render = () => container.replaceChildren(...previewParts(bundle, checks, render));
    render();
  } catch (e) {
    container.replaceChildren();
    showError(e);
  }
}

/** A "leave this out" box for part `id` of the report. */
function leaveOutBox(id, rerender) {
  const box = h('input', { type: 'checkbox', id: `leave-out-${id}`, checked: draft.leaveOut.has(id), onchange: () => {
    if (box.checked) draft.leaveOut.add(id); else draft.leaveOut.delete(id);
    rerender();
    document.getElementById(`leave-out-${id}`)?.focus();
  } });
  return h('label', { class: 'choice' }, box, t('ui.preview.leave_out'));
}

function previewParts(bundle, checks, rerender) {
  const parts = readablePreview(bundle, checks, [...draft.leaveOut]).map((s) => {
    const body = s.excluded
      ? [h('p', { class: ['help', 'left-out'] }, t('ui.preview.left_out'))]
      : [
        h('ul', { class: 'readable' }, s.lines.map((l) => h('li', { class: l.mono ? 'mono' : null }, l.text ?? t(l.key, l.args)))),
        s.charts ? h('div', { class: 'charts' },
          chart(`preview-cpu`, 'ui.health.chart.cpu', s.charts.cpu),
          chart(`preview-memory`, 'ui.health.chart.memory', s.charts.memory)) : '',
        h('details', { class: 'raw' }, h('summary', {}, t('ui.preview.exact')), h('pre', {}, JSON.stringify(s.json, null, 2))),
      ];
    return h('details', { id: `preview-${s.id}`, open: s.id === 'device' }, h('summary', {}, t(s.titleKey)),
      s.excludable ? leaveOutBox(s.id, rerender) : '', ...body);
  });
  if (draft.screenshot) {
    const out = draft.leaveOut.has('screenshot');
    parts.push(h('details', { id: 'preview-screenshot' }, h('summary', {}, t('ui.preview.screenshot')), leaveOutBox('screenshot', rerender),
      out ? h('p', { class: ['help', 'left-out'] }, t('ui.preview.left_out'))
        : h('img', { class: 'thumb', src: draft.screenshot, alt: t('ui.report.screenshot.alt') })));
  }
  if (draft.files.length) {
    const out = draft.leaveOut.has('files');
    parts.push(h('details', { id: 'preview-files' }, h('summary', {}, t('ui.preview.files')), leaveOutBox('files', rerender),
      out ? h('p', { class: ['help', 'left-out'] }, t('ui.preview.left_out'))
        : h('ul', {}, draft.files.map((f) => h('li', {}, f.name, ' ', h('span', { class: 'help' }, fileSize(f.size, locale)))))));
  }
  const excluded = bundle.excluded?.length ? h('p', { class: 'help' }, t('ui.preview.excluded', { parts: bundle.excluded.join(', ') })) : '';
  return [excluded, ...parts];
}

function showSubmitted(localId) {
  const notice = h('p', { class: 'notice', id: 'submitted', role: 'status' }, t('ui.report.queued'));
  const again = h('button', { type: 'button', onclick: renderReport }, t('ui.report.another'));
  main.replaceChildren(h('h1', {}, t('window.report.title')), notice, h('div', { class: 'actions' }, again));
  // The number arrives with the desk's acknowledgement.
  const update = async () => {
    const ticket = await invoke('ticket', { id: localId });
    if (ticket?.server_id) notice.textContent = t('ui.report.sent', { number: ticket.server_id });
  };
  update();
  onChange(update);
}

// My tickets ---------------------------------------------------------------

async function renderTickets() {
  const list = await invoke('tickets');
  const rows = list.map(ticketRow);
  const items = rows.map((r) => h('li', {}, h('button', { type: 'button', onclick: () => renderTicket(r.id) },
    h('span', {}, r.number ? `#${r.number} ` : '', r.subject),
    h('span', {}, r.unread ? h('span', { class: ['badge', 'unread'] }, t('ui.tickets.unread', { count: r.unread })) : '',
      ' ', h('span', { class: 'badge' }, t(r.statusKey))))));
  main.replaceChildren(
    h('h1', {}, t('window.tickets.title')),
    rows.length ? h('ul', { class: 'list', id: 'ticket-list' }, items) : h('p', { class: 'help' }, t('ui.tickets.empty')));
}

async function renderTicket(id) {
  const ticket = await invoke('ticket', { id });
  if (!ticket) return renderTickets();
  const row = ticketRow(ticket);
  // Checks' titles in the employee's language, for the desk's notes.
  const health = await invoke('health').catch(() => null);
  const titles = Object.fromEntries((health?.checks ?? []).map((c) => [c.id, c.title]));
  const messages = conversation(ticket, titles).map((m) => h('div', { class: ['message', m.mine ? 'mine' : 'theirs', m.desk ? 'desk-note' : ''] },
    h('div', { class: 'who' }, `${m.mine ? t('ui.tickets.you') : m.desk ? t('ui.tickets.desk') : t('ui.tickets.it')} · ${when(m.at)}`),
    h('div', {}, m.note ? t(m.note.key, { check: m.note.args.check, time: when(m.note.args.time) }) : m.body)));
  const reply = h('textarea', { id: 'reply', placeholder: t('ui.tickets.reply.placeholder') });
  const send = h('button', { type: 'submit', class: 'primary' }, t('ui.tickets.send'));
  const form = h('form', {}, h('label', { for: 'reply' }, t('ui.tickets.reply')), reply, h('div', { class: 'actions' }, send));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!reply.value.trim()) { reply.focus(); return; }
    try { await invoke('reply', { id, message: reply.value }); reply.value = ''; } catch (e) { showError(e); }
  });
  const extra = [];
  // What the desk would not take, and why: nothing is dropped silently.
  for (const r of refusals(ticket)) {
    extra.push(h('div', { class: 'notice', role: 'status' },
      h('strong', {}, t(r.key)), ' ', h('span', { class: 'reason' }, r.reason)));
  }
  if (canReopen(ticket)) {
    extra.push(h('button', { type: 'button', onclick: () => invoke('reopen', { id }).catch(showError) }, t('ui.tickets.reopen')));
  }
  if (canRate(ticket)) {
    const stars = h('div', { class: 'stars', role: 'group', 'aria-label': t('ui.tickets.rate') },
      [1, 2, 3, 4, 5].map((n) => h('button', { type: 'button', 'aria-label': t('ui.tickets.rate.star', { count: n }),
        onclick: async () => {
          try { await invoke('rate', { id, score: n, comment: null }); stars.replaceChildren(t('ui.tickets.rate.thanks')); } catch (e) { showError(e); }
        } }, '★')));
    extra.push(h('h2', {}, t('ui.tickets.rate')), stars);
  } else if (ratingWaits(ticket)) {
    extra.push(h('p', { class: 'help', id: 'rating-waits' }, t('ui.tickets.rate.waits', { time: when(ratingWaits(ticket)) })));
  }
  main.replaceChildren(
    h('button', { type: 'button', onclick: renderTickets }, `← ${t('ui.tickets.back')}`),
    h('h1', {}, row.number ? `#${row.number} ` : '', row.subject),
    h('p', {}, h('span', { class: 'badge' }, t(row.statusKey))),
    h('div', { id: 'conversation' }, ticket.server?.description ? h('div', { class: ['message', 'mine'] }, ticket.server.description) : '', messages),
    form, ...extra);
}

// Device health -------------------------------------------------------------

function chart(id, labelKey, values) {
  const now = latest(values);
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 300 48');
  svg.setAttribute('class', 'chart');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', t(labelKey));
  const line = document.createElementNS('http://www.w3.org/2000/svg', 'path');
  line.setAttribute('d', sparkline(values, 300, 48));
  svg.append(line);
  return h('figure', { id },
    h('figcaption', {}, t(labelKey), ' ', h('span', { class: 'help' },
      now == null ? t('ui.health.chart.empty') : t('ui.health.chart.now', { value: now }))),
    svg);
}

async function renderHealth() {
  const [health, summary, points] = await Promise.all([invoke('health'), invoke('device_summary'), invoke('metrics')]);
  const checks = health.checks.map((c) => h('div', { class: 'check' },
    h('div', { class: 'title' }, h('span', { class: `state-${c.state}` }, `● ${t(`ui.health.state.${c.state}`)}`), ' ', c.title),
    c.report_only ? h('div', { class: 'meta' }, t('ui.health.report_only')) : '',
    c.message ? h('div', {}, c.message) : '',
    c.how_to_fix ? h('div', {}, h('strong', {}, `${t('ui.health.fix')}: `), c.how_to_fix) : '',
    c.article ? h('button', { type: 'button', class: 'read-article', onclick: () => readArticle(c.article.id) },
      t('ui.kb.read', { title: c.article.title })) : '',
    c.last_run ? h('div', { class: 'meta' }, t('ui.health.last_run', { time: when(c.last_run) })) : ''));
  const copied = h('span', { class: 'help', role: 'status' });
  const copy = h('button', { type: 'button', onclick: async () => {
    await navigator.clipboard.writeText(summaryText(summary.rows, texts));
    copied.textContent = t('ui.health.copied');
  } }, t('ui.health.copy'));
  main.replaceChildren(
    h('h1', {}, t('window.health.title')),
    h('div', { class: ['overall', `state-${health.overall ?? 'pending'}`] }, t(overallKey(health))),
    h('div', { class: 'charts' },
      chart('chart-cpu', 'ui.health.chart.cpu', points.map((p) => p.cpu_percent)),
      chart('chart-memory', 'ui.health.chart.memory', points.map((p) => p.memory_percent))),
    h('div', { id: 'checks' }, checks),
    h('h2', {}, t('ui.health.device')),
    h('dl', { class: 'facts' }, summary.rows.map(([k, v]) => [h('dt', {}, t(k)), h('dd', {}, v)])),
    h('div', { class: 'actions' }, copy, copied));
}

/** An article linked to a failing check, read from Device health. */
async function readArticle(id) {
  let article;
  try { article = await invoke('kb_article', { id }); } catch (e) { showError(e); return; }
  if (!article) return;
  // News must not take the reader away from the article.
  onChange(async () => {});
  main.replaceChildren(
    h('button', { type: 'button', onclick: () => { onChange(null); renderHealth().catch(showError); } }, `← ${t('ui.kb.back')}`),
    h('article', { id: 'article', class: 'article' }, h('h1', {}, article.title),
      h('div', { class: 'article-body' }, articleNodes(article.html))));
}

// Settings and About ---------------------------------------------------------

async function renderSettings() {
  const [settings, status] = await Promise.all([invoke('settings'), invoke('status')]);
  const language = h('select', { id: 'language' },
    h('option', { value: 'auto' }, t('ui.settings.language.auto')),
    ['en', 'ko', 'ja'].map((l) => h('option', { value: l }, t(`ui.language.${l}`))));
  language.value = settings.language;
  const notifications = h('input', { type: 'checkbox', id: 'notifications', checked: settings.notifications });
  const autostart = h('input', { type: 'checkbox', id: 'autostart', checked: settings.autostart });
  const save = async () => {
    try {
      await invoke('set_settings', { settings: { language: language.value, notifications: notifications.checked, autostart: autostart.checked } });
      await loadStrings();
      await renderSettings();
      document.querySelector('#saved').textContent = t('ui.settings.saved');
    } catch (e) { showError(e); }
  };
  for (const el of [language, notifications, autostart]) el.addEventListener('change', save);
  main.replaceChildren(
    h('h1', {}, t('window.settings.title')),
    h('label', { for: 'language' }, t('ui.settings.language')), language,
    h('label', { class: 'choice' }, notifications, t('ui.settings.notifications')),
    h('label', { class: 'choice' }, autostart, t('ui.settings.autostart')),
    h('span', { id: 'saved', class: 'help', role: 'status' }),
    h('h2', {}, t('window.about.title')), facts(status));
}

function facts(status) {
  return h('dl', { class: 'facts' },
    h('dt', {}, t('ui.about.version')), h('dd', {}, status.version),
    h('dt', {}, t('ui.about.server')), h('dd', {}, status.server ?? t('ui.about.not_enrolled')),
    h('dt', {}, t('ui.about.device')), h('dd', {}, status.device_id ?? '—'),
    h('dt', {}, t('ui.about.last_sync')), h('dd', {}, when(status.last_sync)),
    h('dt', {}, t('ui.about.outbox')), h('dd', {}, String(status.outbox_depth)));
}

async function renderAbout() {
  const status = await invoke('status');
  main.replaceChildren(h('h1', {}, t('window.about.title')), h('p', {}, t('ui.about.text')), facts(status));
}

// Wiring --------------------------------------------------------------------

const VIEWS = { report: renderReport, tickets: renderTickets, health: renderHealth, settings: renderSettings, about: renderAbout };
let changeHandler = null;
function onChange(fn) { changeHandler = fn; }

async function start() {
  try {
    await loadStrings();
    await renderStatus();
    if (view === 'tickets' && item) await renderTicket(item);
    else await (VIEWS[view] ?? renderHealth)();
  } catch (e) {
    showError(e);
  } finally {
    main.setAttribute('aria-busy', 'false');
    invoke('ready').catch(() => {});
  }
  // A clicked notification names a ticket of an open window.
  await tauri.event.listen('deskside://show', async (ev) => {
    if (view === 'tickets' && typeof ev.payload === 'string') await renderTicket(ev.payload).catch(showError);
  });
  await tauri.event.listen('deskside://changed', async (ev) => {
    if (ev.payload?.kind === 'settings') { await loadStrings(); await (VIEWS[view] ?? renderHealth)(); }
    await renderStatus().catch(() => {});
    if (changeHandler) await changeHandler();
    else if (view === 'tickets' && !document.getElementById('reply')) await renderTickets();
    else if (view === 'health') await renderHealth();
  });
}

start();
