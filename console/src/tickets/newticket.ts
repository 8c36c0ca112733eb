// A ticket a technician opens for someone (phone, walk-in, e-mail, chat):
// what the form holds, what it is missing, and the body the desk takes.
// Pure functions, tested with Vitest.
import type { Schemas } from '../lib/api/client.svelte';

export const DESK_CHANNELS = ['phone', 'walk_in', 'email', 'chat'] as const;

export interface NewTicketForm {
  channel: (typeof DESK_CHANNELS)[number];
  requesterName: string;
  requesterEmail: string;
  ticketType: 'incident' | 'service_request';
  subject: string;
  description: string;
  category: string;
  impact: 'low' | 'medium' | 'high';
  urgency: 'low' | 'medium' | 'high';
  teamId: string;
  deviceId: string;
  assignToMe: boolean;
}

export const BLANK: NewTicketForm = {
  channel: 'phone',
  requesterName: '',
  requesterEmail: '',
  ticketType: 'incident',
  subject: '',
  description: '',
  category: 'other',
  impact: 'medium',
  urgency: 'medium',
  teamId: '',
  deviceId: '',
  assignToMe: false,
};

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** The fields the desk would refuse, as catalog keys by field. */
export function problemsOf(f: NewTicketForm): Partial<Record<'requesterName' | 'requesterEmail' | 'subject', string>> {
  const out: Partial<Record<'requesterName' | 'requesterEmail' | 'subject', string>> = {};
  if (!f.requesterName.trim()) out.requesterName = 'new.need_requester';
  if (f.requesterEmail.trim() && !EMAIL.test(f.requesterEmail.trim())) out.requesterEmail = 'new.bad_email';
  if (!f.subject.trim()) out.subject = 'new.need_subject';
  return out;
}

/** The body of POST /api/v1/tickets. */
export function toBody(f: NewTicketForm, me: string): Schemas['DeskTicketInput'] {
  return {
    channel: f.channel,
    requester_name: f.requesterName.trim(),
    requester_email: f.requesterEmail.trim() || null,
    ticket_type: f.ticketType,
    subject: f.subject.trim(),
    description: f.description.trim(),
    category: f.category as Schemas['TicketCategory'],
    impact: f.impact,
    urgency: f.urgency,
    team_id: f.teamId ? Number(f.teamId) : null,
    device_id: f.deviceId ? Number(f.deviceId) : null,
    assignee_email: f.assignToMe ? me : null,
  };
}
