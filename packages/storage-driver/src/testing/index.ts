/**
 * The shared storage-driver conformance suite, for driver packages' tests:
 *
 * ```ts
 * import { describeDriverConformance } from '@berth/storage-driver/testing';
 * describeDriverConformance('inmemory', async () => ({ driver: createInMemoryDriver() }));
 * ```
 *
 * Uses jest's globals (`describe`, `it`, `expect`); import it from test files only.
 */
export { describeDriverConformance, type ConformanceOptions, type ConformanceTarget } from './suite';
export { DEFAULT_LARGE_SIZE } from './context';
