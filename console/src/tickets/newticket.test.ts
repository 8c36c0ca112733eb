import { describe, expect, it } from 'vitest';
import { BLANK, problemsOf, toBody } from './newticket';

describe('a ticket opened for someone', () => {
  it('needs a requester and a subject, and a well-formed e-mail when given', () => {
    expect(problemsOf(BLANK)).toEqual({ requesterName: 'new.need_requester', subject: 'new.need_subject' });
    expect(problemsOf({ ...BLANK, requesterName: 'Ana', subject: 'Locked out', requesterEmail: 'ana' })).toEqual({ requesterEmail: 'new.bad_email' });
    expect(problemsOf({ ...BLANK, requesterName: 'Ana', subject: 'Locked out', requesterEmail: 'ana@example.com' })).toEqual({});
  });

  it('sends what the desk takes, without a device when there is none', () => {
    const body = toBody(
      { ...BLANK, requesterName: ' Ana ', subject: ' Forgot my password ', category: 'account', teamId: '3', assignToMe: true, ticketType: 'service_request' },
      'me@example.com',
    );
    expect(body).toEqual({
      channel: 'phone',
      requester_name: 'Ana',
      requester_email: null,
      ticket_type: 'service_request',
      subject: 'Forgot my password',
      description: '',
      category: 'account',
      impact: 'medium',
      urgency: 'medium',
      team_id: 3,
      device_id: null,
      assignee_email: 'me@example.com',
    });
    expect(toBody({ ...BLANK, deviceId: '12' }, 'me@example.com').device_id).toBe(12);
  });
});
