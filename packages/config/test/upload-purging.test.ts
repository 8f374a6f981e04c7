import { configError, load, MINIMAL } from './helpers';

/** Values upload purging cannot run with are refused at load, naming the key. */
describe('storage.maintenance.uploadpurging durations', () => {
  const purging = (age: string, interval: string, enabled = true): string =>
    `${MINIMAL}  maintenance:\n    uploadpurging:\n      enabled: ${enabled}\n      age: ${age}\n      interval: ${interval}\n      dryrun: false\n`;

  it('refuses an interval or age of zero while purging is enabled', () => {
    expect(configError(() => load(purging('168h', '0s')), 'storage.maintenance.uploadpurging.interval')).toMatch(/positive/);
    expect(configError(() => load(purging('0s', '24h')), 'storage.maintenance.uploadpurging.age')).toMatch(/positive/);
  });

  it('accepts them when purging is disabled, and small positive ones', () => {
    expect(load(purging('0s', '0s', false)).storage.maintenance.uploadpurging.enabled).toBe(false);
    expect(load(purging('1s', '500ms')).storage.maintenance.uploadpurging).toMatchObject({ age: 1000, interval: 500 });
  });
});
