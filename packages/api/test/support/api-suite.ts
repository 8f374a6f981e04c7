import { blobTests } from './suite-blobs';
import { discoveryTests } from './suite-discovery';
import { type DriverUnderTest } from './harness';
import { managementTests } from './suite-management';
import { manifestTests } from './suite-manifests';
import { uiTests } from './suite-ui';
import { uploadTests } from './suite-uploads';

export type { DriverUnderTest } from './harness';

/**
 * The whole HTTP API suite (real HTTP via supertest on `createApp`), run against one storage
 * driver. A driver with a `skipReason` is skipped with the reason in the test name.
 */
export function describeApiSuite(dut: DriverUnderTest): void {
  const run = dut.skipReason ? describe.skip : describe;
  if (dut.skipReason) {
    console.warn(`API suite on ${dut.name} SKIPPED: ${dut.skipReason}`);
  }
  run(`OCI distribution API on the ${dut.name} driver${dut.skipReason ? ` (skipped: ${dut.skipReason})` : ''}`, () => {
    describe('blobs', () => blobTests(dut));
    describe('uploads', () => uploadTests(dut));
    describe('manifests', () => manifestTests(dut));
    describe('discovery', () => discoveryTests(dut));
    describe('management', () => managementTests(dut));
    describe('web UI', () => uiTests(dut));
  });
}
