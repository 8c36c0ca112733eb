import { defineConfig } from '@playwright/test';
import base from './playwright.config';

// The screenshot run (scripts/console-screenshots.sh): the same desk and
// browser as the tests, another folder.
export default defineConfig({ ...base, testDir: 'screens' });
