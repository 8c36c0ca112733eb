// Which SLA escalations a technician is told about: those of tickets
// assigned to them, and of unassigned tickets of their teams (the desk
// tells "the assignee and the team"). Pure functions, tested with Vitest.

export type NoticeKind = 'warning' | 'breach';

export interface Notice {
  key: string;
  kind: NoticeKind;
  ticketId: number;
  subject: string;
}

/** The escalation an event kind names, if it is one. */
export function noticeKind(kind: string): NoticeKind | null {
  return kind === 'sla.warning' ? 'warning' : kind === 'sla.breach' ? 'breach' : null;
}

export interface Concerned {
  assigneeEmail: string | null | undefined;
  teamId: number | null | undefined;
}

/** Whether a ticket's escalation is this technician's to hear about. */
export function concerns(ticket: Concerned, me: string, myTeams: number[]): boolean {
  if (ticket.assigneeEmail) return ticket.assigneeEmail === me;
  return ticket.teamId != null && myTeams.includes(ticket.teamId);
}

/** The ids of the teams a technician is a member of. */
export function teamsOf(teams: { id: number; members: { email: string }[] }[], me: string): number[] {
  return teams.filter((tm) => tm.members.some((m) => m.email === me)).map((tm) => tm.id);
}

/** The notices shown: newest first, one per ticket and kind, at most `max`. */
export function pushNotice(list: Notice[], n: Notice, max = 5): Notice[] {
  return [n, ...list.filter((x) => x.key !== n.key)].slice(0, max);
}
