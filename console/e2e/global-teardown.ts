import { rmSync } from 'node:fs';
import { desk, STATE_FILE } from './desk';

export default async function globalTeardown(): Promise<void> {
  const d = desk();
  try {
    process.kill(d.pid, 'SIGTERM');
  } catch {
    /* gone already */
  }
  if (!process.env.DESKSIDE_E2E_KEEP) rmSync(d.dir, { recursive: true, force: true });
  rmSync(STATE_FILE, { force: true });
}
