// Webhooks in Chromium against the real desk of desk.ts (configured to
// allow loopback targets): an address refused before and by the desk, a
// subscription whose secret is shown once, a ticket's event arriving at a
// local receiver with a signature verified here, the delivery log, and
// pausing; axe on the page.
import AxeBuilder from '@axe-core/playwright';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, test, type Page } from '@playwright/test';
import { desk } from './desk';

test.describe.configure({ mode: 'serial' });

async function login(page: Page, next: string): Promise<void> {
  await page.goto(desk().url + next);
  await page.getByLabel('E-mail').fill(desk().email);
  await page.getByLabel('Password').fill(desk().password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByTestId('who')).toHaveText(desk().email);
}

test('a webhook is subscribed in the console and its deliveries arrive signed', async ({ page }) => {
  const got: { headers: IncomingHttpHeaders; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const receiver = `http://127.0.0.1:${(server.address() as AddressInfo).port}/deskside`;
  try {
    await login(page, '/admin/webhooks');
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Webhooks');
    // Refused in the browser, then by the desk (link-local: cloud metadata).
    await page.getByTestId('webhook-url').fill('ftp://example.com/hook');
    await page.getByTestId('webhook-save').click();
    await expect(page.getByRole('alert')).toHaveText('Give an http or https address.');
    await page.getByTestId('webhook-url').fill('http://169.254.169.254/latest');
    await page.getByTestId('webhook-save').click();
    await expect(page.getByRole('alert')).toContainText('does not send to that address');

    await page.getByTestId('webhook-url').fill(receiver);
    await page.getByTestId('webhook-save').click();
    const secret = await page.getByTestId('webhook-secret-value').inputValue();
    expect(secret).toMatch(/^whsec_/);
    const row = page.getByTestId('webhooks').locator('tbody tr', { hasText: receiver });
    await expect(row).toContainText('Ticket created');
    await new AxeBuilder({ page }).analyze().then((r) => {
      const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
      expect(bad.map((v) => v.id)).toEqual([]);
    });

    const r = await fetch(`${desk().url}/api/v1/tickets`, {
      method: 'POST',
      headers: { authorization: `Bearer ${desk().token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'chat', requester_name: 'Di Hook', subject: 'VPN token expired' }),
    });
    expect(r.status).toBe(201);
    const id = ((await r.json()) as { ticket: { id: number } }).ticket.id;
    await expect.poll(() => got.length, { timeout: 20_000 }).toBeGreaterThan(0);
    const delivery = got.find((g) => (JSON.parse(g.body) as { data: { ticket: { id: number } } }).data.ticket.id === id);
    expect(delivery).toBeTruthy();
    const h = delivery!.headers;
    expect(h['deskside-event']).toBe('ticket.created');
    const want = 'v1=' + createHmac('sha256', secret).update(`${String(h['deskside-timestamp'])}.${delivery!.body}`).digest('hex');
    expect(h['deskside-signature']).toBe(want);
    const payload = JSON.parse(delivery!.body) as { version: number; id: number; event: string; data: { ticket: { subject: string } } };
    expect(payload).toMatchObject({ version: 1, event: 'ticket.created', data: { ticket: { subject: 'VPN token expired' } } });
    expect(String(payload.id)).toBe(h['deskside-delivery']);

    await row.getByRole('button', { name: 'Deliveries' }).click();
    await expect(page.getByTestId('webhook-log').getByTestId('delivery').first()).toContainText('Delivered');
    await row.getByRole('button', { name: 'Pause' }).click();
    await expect(row).toContainText('Paused');
  } finally {
    server.close();
  }
});
