// A check's state change as one line, the same on the device page and in
// the diagnostics viewer: "first result" when there was no state before.
import { dateTime } from './format';

type Label = (key: string, vars?: Record<string, string | number>) => string;

export function transitionText(tr: { from?: string | null; to: string; at: string }, t: Label, locale: string): string {
  const when = dateTime(tr.at, locale);
  const to = t(`state.${tr.to}`);
  return tr.from ? t('device.transition', { when, from: t(`state.${tr.from}`), to }) : t('device.first_result', { when, to });
}
