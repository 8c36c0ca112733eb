import { describe, expect, it } from 'vitest';
import { deliveryTone, eventKey, urlProblem } from './webhooks';

describe('webhooks', () => {
  it('names events by catalog key', () => {
    expect(eventKey('sla.breach')).toBe('webhooks.event.sla_breach');
  });

  it('tells pending, retrying, delivered and failed apart', () => {
    expect(deliveryTone({ state: 'pending', attempts: 0 })).toEqual({ key: 'webhooks.state.pending', tone: 'warning' });
    expect(deliveryTone({ state: 'pending', attempts: 2 }).key).toBe('webhooks.state.retrying');
    expect(deliveryTone({ state: 'delivered', attempts: 1 }).tone).toBe('ok');
    expect(deliveryTone({ state: 'failed', attempts: 9 }).tone).toBe('critical');
  });

  it('checks an address before the desk is asked', () => {
    expect(urlProblem('https://chat.example.com/hooks/abc')).toBeNull();
    expect(urlProblem('ftp://example.com/')).toBe('webhooks.bad_url');
    expect(urlProblem('not a url')).toBe('webhooks.bad_url');
    expect(urlProblem('https://me:pw@example.com/')).toBe('webhooks.no_credentials');
  });
});
