import { describe, expect, it } from 'vitest';
import { blankArticle, fromArticle, fromTicket, replyText, toInput } from './kb';

describe('an article in the editor', () => {
  it('needs a text, and a title for each text', () => {
    expect(toInput(blankArticle())).toEqual({ bad: 'kb.need_text' });
    const f = blankArticle();
    f.texts.ja.body = '本文';
    expect(toInput(f)).toEqual({ bad: 'kb.need_title' });
  });

  it('sends only the languages written, lists without duplicates', () => {
    const f = blankArticle();
    f.state = 'published';
    f.category = 'printer';
    f.tags = 'paper, tray, paper';
    f.texts.ja = { title: ' プリンターが印刷しない ', body: '用紙を確認' };
    const r = toInput(f);
    expect('input' in r && r.input).toEqual({
      state: 'published',
      category: 'printer',
      tags: ['paper', 'tray'],
      checks: [],
      ticket_categories: ['printer'],
      texts: [{ lang: 'ja', title: 'プリンターが印刷しない', body: '用紙を確認' }],
      version: null,
    });
  });

  it('round-trips an article with its version', () => {
    const a = {
      id: 3,
      state: 'internal' as const,
      category: null,
      tags: ['vpn'],
      checks: ['disk_space'],
      ticket_categories: [],
      texts: [{ lang: 'ko' as const, title: '제목', body: '본문', html: '<p>본문</p>' }],
      version: 4,
      created_at: '2026-12-01T00:00:00Z',
      updated_at: '2026-12-01T00:00:00Z',
    };
    const f = fromArticle(a);
    expect(f.texts.ko.title).toBe('제목');
    const back = toInput(f);
    expect('input' in back && back.input.version).toBe(4);
    expect('input' in back && back.input.checks).toEqual(['disk_space']);
    expect(replyText(a, 'ja')).toBe('제목\n\n본문\n');
  });

  it('drafts an article from a ticket and its public replies', () => {
    const f = fromTicket(
      {
        ticket: { subject: 'Printer jams', description: 'It jams on A3.', category: 'printer' } as never,
        comments: [
          { user_id: 1, internal: false, body: 'Use the A3 tray.' },
          { user_id: 1, internal: true, body: 'secret note' },
          { user_id: null, internal: false, body: 'thanks' },
        ] as never,
      },
      'en',
      { problem: 'Problem', solution: 'Solution' },
    );
    expect(f.texts.en.title).toBe('Printer jams');
    expect(f.texts.en.body).toBe('## Problem\n\nIt jams on A3.\n\n## Solution\n\nUse the A3 tray.\n');
    expect(f.category).toBe('printer');
  });
});
