// The audit log as sentences: each action the desk records has a text in
// the catalogs; an action this console does not know shows as recorded.

const ACTIONS = new Set([
  'policy.publish',
  'policy.rollback',
  'enroll_secret.create',
  'enroll_secret.revoke',
  'user.create',
  'user.role',
  'user.deactivate',
  'user.password_reset',
  'user.password_change',
  'token.create',
  'token.revoke',
  'device.revoke',
  'team.create',
  'team.update',
  'team.delete',
  'sla_calendar.create',
  'sla_calendar.update',
  'sla_calendar.delete',
  'sla_policy.create',
  'sla_policy.update',
  'sla_policy.delete',
  'sla_policy.order',
  'webhook.create',
  'webhook.update',
  'webhook.delete',
  'webhook.redeliver',
]);

/** The catalog key for an action (`audit.policy_publish`), or null. */
export function actionKey(action: string): string | null {
  return ACTIONS.has(action) ? `audit.${action.replace('.', '_')}` : null;
}

/** The facts of an entry's detail worth a column: what a policy change
 * did, a label, a name, a role, where a rollback went. */
export function detailFacts(detail: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!detail || typeof detail !== 'object') return out;
  const d = detail as Record<string, unknown>;
  const diff = d.diff as { added?: string[]; removed?: string[]; changed?: string[] } | undefined;
  if (diff) {
    for (const k of ['added', 'removed', 'changed'] as const) {
      if (diff[k]?.length) out[k] = diff[k].join(', ');
    }
  }
  for (const k of ['to', 'label', 'name', 'role', 'email', 'expires_at', 'by', 'origin']) {
    const v = d[k];
    if (typeof v === 'string' || typeof v === 'number') out[k] = String(v);
  }
  return out;
}
