// Webhooks as the admin page shows them: the events to choose from, a
// delivery's state in words and tone, and an address checked before the
// desk is asked. Pure functions, tested with Vitest.
import type { Schemas } from '../lib/api/client.svelte';

export const WEBHOOK_EVENTS: Schemas['WebhookEvent'][] = [
  'ticket.created',
  'ticket.updated',
  'ticket.resolved',
  'sla.warning',
  'sla.breach',
  'check.failing',
  'check.recovered',
  'device.enrolled',
  'problem.candidate',
];

/** The catalog key of an event (`webhooks.event.ticket_created`). */
export function eventKey(e: string): string {
  return `webhooks.event.${e.replace('.', '_')}`;
}

/** How a delivery reads: its state's catalog key and the badge's tone. */
export function deliveryTone(d: Pick<Schemas['WebhookDelivery'], 'state' | 'attempts'>): { key: string; tone: 'ok' | 'warning' | 'critical' } {
  if (d.state === 'delivered') return { key: 'webhooks.state.delivered', tone: 'ok' };
  if (d.state === 'failed') return { key: 'webhooks.state.failed', tone: 'critical' };
  return { key: d.attempts > 0 ? 'webhooks.state.retrying' : 'webhooks.state.pending', tone: 'warning' };
}

/** Whether an address is worth sending to the desk (which checks where it resolves). */
export function urlProblem(raw: string): string | null {
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    return 'webhooks.bad_url';
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return 'webhooks.bad_url';
  if (u.username || u.password) return 'webhooks.no_credentials';
  return null;
}
