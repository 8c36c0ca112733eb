import { defineConfig } from '@playwright/test';

// Browser tests against a real deskside-server on SQLite whose tickets
// were filed by the real deskside-agent (e2e/desk.ts starts both), in
// Debian's Chromium: Playwright cannot download browsers here.
const LATER = /(candidates|checks)\.spec\.ts$/;

export default defineConfig({
  testDir: 'e2e',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  workers: 1,
  fullyParallel: false,
  reporter: [['list']],
  globalSetup: './e2e/global-setup.ts',
  globalTeardown: './e2e/global-teardown.ts',
  // The specs that enroll devices and file tickets the others count run
  // after them, on the same desk.
  projects: [
    { name: 'desk', testIgnore: LATER },
    { name: 'desk-later', testMatch: LATER, dependencies: ['desk'] },
  ],
  use: {
    locale: 'en-US',
    timezoneId: 'Europe/Berlin',
    trace: 'off',
    launchOptions: {
      executablePath: process.env.DESKSIDE_CHROMIUM ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    },
  },
});
