// The knowledge base in the console: the search in the URL, an article as
// its editor holds it (a title and Markdown per language) and back, and an
// article drafted from a ticket's resolution. Pure functions, tested with
// Vitest.
import type { Schemas } from '../lib/api/client.svelte';

export const LANGS = ['en', 'ko', 'ja'] as const;
export type Lang = (typeof LANGS)[number];
export const STATES = ['draft', 'internal', 'published'] as const;

export interface ArticleForm {
  state: Schemas['ArticleState'];
  category: string;
  tags: string;
  checks: string;
  texts: Record<Lang, { title: string; body: string }>;
  version: number | null;
}

export function blankArticle(): ArticleForm {
  return {
    state: 'draft',
    category: '',
    tags: '',
    checks: '',
    texts: { en: { title: '', body: '' }, ko: { title: '', body: '' }, ja: { title: '', body: '' } },
    version: null,
  };
}

export function fromArticle(a: Schemas['Article']): ArticleForm {
  const f = blankArticle();
  f.state = a.state;
  f.category = a.category ?? '';
  f.tags = a.tags.join(', ');
  f.checks = a.checks.join(', ');
  for (const t of a.texts) f.texts[t.lang] = { title: t.title, body: t.body };
  f.version = a.version;
  return f;
}

function list(text: string): string[] {
  return [...new Set(text.split(',').map((s) => s.trim()).filter((s) => s !== ''))];
}

/** The desk's body, or the catalog key of what is missing. */
export function toInput(f: ArticleForm): { input: Schemas['ArticleInput'] } | { bad: string } {
  const texts = LANGS.filter((l) => f.texts[l].title.trim() || f.texts[l].body.trim()).map((l) => ({
    lang: l,
    title: f.texts[l].title.trim(),
    body: f.texts[l].body,
  }));
  if (!texts.length) return { bad: 'kb.need_text' };
  if (texts.some((t) => !t.title)) return { bad: 'kb.need_title' };
  return {
    input: {
      state: f.state,
      category: (f.category || null) as Schemas['ArticleInput']['category'],
      tags: list(f.tags),
      checks: list(f.checks),
      ticket_categories: f.category ? [f.category as Schemas['TicketCategory']] : [],
      texts,
      version: f.version,
    },
  };
}

/** An article drafted from a ticket: its subject, what was reported, and
 * the technicians' public replies (the resolution), as Markdown. */
export function fromTicket(d: Pick<Schemas['TicketDetail'], 'ticket' | 'comments'>, lang: Lang, headings: { problem: string; solution: string }): ArticleForm {
  const f = blankArticle();
  f.category = d.ticket.category;
  const replies = d.comments.filter((c) => c.user_id != null && !c.internal).map((c) => c.body.trim());
  const body = [`## ${headings.problem}`, '', d.ticket.description.trim(), '', `## ${headings.solution}`, '', ...replies.flatMap((r) => [r, ''])].join('\n').trim() + '\n';
  f.texts[lang] = { title: d.ticket.subject, body };
  return f;
}

/** The text a reply gets for an article: its title and Markdown. */
export function replyText(a: Schemas['Article'], lang: Lang): string {
  const t = a.texts.find((x) => x.lang === lang) ?? a.texts.find((x) => x.lang === 'en') ?? a.texts[0];
  return t ? `${t.title}\n\n${t.body.trim()}\n` : '';
}
