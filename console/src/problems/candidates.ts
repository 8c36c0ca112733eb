// Problems the desk proposes, as the console shows and accepts them: an
// incident as one line, and the problem record's subject and description
// in the technician's language (the desk stores what it is given).
import type { Schemas } from '../lib/api/client.svelte';

type Candidate = Schemas['ProblemCandidate'];
type Incident = Schemas['CandidateIncident'];
type Translate = (key: string, vars?: Record<string, string | number>) => string;

/** A device's name in a candidate: its host name, else its number. */
export function hostOf(c: Candidate, id: number): string {
  const d = [...c.devices, ...c.others].find((x) => x.id === id);
  return d?.hostname ?? `#${id}`;
}

/** One incident as a message key and its arguments. */
export function incidentLine(c: Candidate, i: Incident): { key: string; args: Record<string, string | number> } {
  const host = hostOf(c, i.device_id);
  if (i.ticket_id != null) {
    return { key: 'candidates.incident.ticket', args: { id: i.ticket_id, subject: i.subject ?? '', host } };
  }
  return { key: 'candidates.incident.check', args: { check: i.check_id ?? '', host } };
}

/** What accepting sends: the problem's subject (at most 200 characters)
 * and description, with every incident listed. */
export function acceptBody(c: Candidate, t: Translate): { subject: string; description: string } {
  const args = { name: c.name, version: c.version, count: c.devices.length };
  const subject = [...t('candidates.subject', args)].slice(0, 200).join('');
  const lines = c.incidents.map((i) => {
    const l = incidentLine(c, i);
    return `- ${t(l.key, l.args)}`;
  });
  const parts = [t('candidates.description', args), lines.join('\n')];
  if (c.others.length) {
    parts.push(t('candidates.others_list', { hosts: c.others.map((d) => d.hostname ?? `#${d.id}`).join(', ') }));
  }
  return { subject, description: parts.join('\n\n') };
}
