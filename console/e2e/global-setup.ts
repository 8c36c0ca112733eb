import { start } from './desk';

export default async function globalSetup(): Promise<void> {
  const d = await start();
  process.env.DESKSIDE_E2E_URL = d.url;
}
