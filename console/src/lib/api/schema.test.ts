// The client's types are generated from docs/openapi.json: this fails
// when the document changed and `npm run api-types` was not run.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import openapiTS, { astToString } from 'openapi-typescript';
import { describe, expect, it } from 'vitest';

describe('API types', () => {
  it('are generated from the current OpenAPI document', async () => {
    const doc = JSON.parse(readFileSync(join(__dirname, '../../../../docs/openapi.json'), 'utf8'));
    const want = astToString(await openapiTS(doc));
    const have = readFileSync(join(__dirname, 'schema.d.ts'), 'utf8');
    const strip = (s: string) => s.replace(/^\/\*\*[\s\S]*?\*\/\s*/, '').trim();
    expect(strip(have), 'run `npm --prefix console run api-types`').toBe(strip(want));
  }, 30_000);
});
