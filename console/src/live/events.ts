// Live changes from the desk: one EventSource for the whole console. The
// browser reconnects by itself after a drop and sends Last-Event-ID, so
// the desk resends what was missed; listeners only hear about changes.

export interface DeskEvent {
  id: number;
  kind: string;
  ticket_id?: number | null;
  actor?: string | null;
  at: string;
}

type Listener = (e: DeskEvent) => void;
const listeners = new Set<Listener>();
let source: EventSource | null = null;

export const liveState = { connected: false };

export function subscribe(f: Listener): () => void {
  listeners.add(f);
  ensure();
  return () => listeners.delete(f);
}

function ensure(): void {
  if (source || typeof EventSource === 'undefined') return;
  source = new EventSource('/api/v1/events', { withCredentials: true });
  source.addEventListener('ready', () => {
    liveState.connected = true;
    document.documentElement.dataset.live = 'on';
  });
  source.addEventListener('change', (m) => {
    let e: DeskEvent;
    try {
      e = JSON.parse((m as MessageEvent<string>).data) as DeskEvent;
    } catch {
      return;
    }
    for (const f of listeners) f(e);
  });
  source.addEventListener('error', () => {
    liveState.connected = false;
    document.documentElement.dataset.live = 'off';
  });
}

export function stopLive(): void {
  source?.close();
  source = null;
}
