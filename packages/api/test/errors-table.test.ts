import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_TABLE } from '@berth/api';

/** `| \`CODE\` | status | …` rows of docs/errors.md. */
function documentedCodes(): Map<string, number> {
  const text = readFileSync(join(__dirname, '../../../docs/errors.md'), 'utf8');
  const rows = new Map<string, number>();
  for (const match of text.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)) rows.set(match[1], Number(match[2]));
  return rows;
}

/** The codes OCI distribution-spec v1.1 defines (spec.md, "Error Codes"). */
const SPEC_CODES = [
  'BLOB_UNKNOWN',
  'BLOB_UPLOAD_INVALID',
  'BLOB_UPLOAD_UNKNOWN',
  'DIGEST_INVALID',
  'MANIFEST_BLOB_UNKNOWN',
  'MANIFEST_INVALID',
  'MANIFEST_UNKNOWN',
  'NAME_INVALID',
  'NAME_UNKNOWN',
  'SIZE_INVALID',
  'UNAUTHORIZED',
  'DENIED',
  'UNSUPPORTED',
  'TOOMANYREQUESTS',
];

describe('the error table', () => {
  it('has every code of the OCI spec', () => {
    for (const code of SPEC_CODES) expect(Object.keys(ERROR_TABLE)).toContain(code);
  });

  it('documents every code with its status in docs/errors.md, and nothing else', () => {
    const documented = documentedCodes();
    const table = new Map(Object.entries(ERROR_TABLE).map(([code, spec]) => [code, spec.status]));
    expect(Object.fromEntries(documented)).toEqual(Object.fromEntries(table));
  });

  it('keeps 5xx for UNKNOWN and UNAVAILABLE (a failing storage health check) alone', () => {
    const serverErrors = Object.entries(ERROR_TABLE).filter(([, spec]) => spec.status >= 500);
    expect(serverErrors.map(([code]) => code).sort()).toEqual(['UNAVAILABLE', 'UNKNOWN']);
  });
});
