// What a failure says to the technician: by the desk's typed error code,
// never by its English message.
import { ApiFailure } from './api/client.svelte';
import { t } from './i18n.svelte';

const KNOWN = new Set([
  'network',
  'version_conflict',
  'invalid_transition',
  'rate_limited',
  'forbidden',
  'not_found',
  'session_expired',
  'invalid_body',
  'storage_unavailable',
  'csrf_failed',
  'already_exists',
  'cannot_change_own_role',
  'cannot_deactivate_self',
  'invalid_policy',
  'in_use',
  'target_refused',
]);

export function errorText(e: unknown): string {
  return e instanceof ApiFailure ? codeText(e.code) : t('error.generic');
}

/** The text for a typed error code; codes without their own text share one. */
export function codeText(code: string | undefined): string {
  return code && KNOWN.has(code) ? t(`error.${code}`) : t('error.generic');
}
