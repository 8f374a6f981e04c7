import { parseGoDurationNs } from '@berth/config';

describe("Go's time.ParseDuration grammar", () => {
  it.each([
    ['0', 0],
    ['10s', 10e9],
    ['168h', 168 * 3600e9],
    ['1m30s', 90e9],
    ['1.5h', 1.5 * 3600e9],
    ['.5s', 0.5e9],
    ['300ms', 300e6],
    ['250us', 250e3],
    ['250µs', 250e3],
    ['42ns', 42],
    ['2h45m10.5s', (2 * 3600 + 45 * 60 + 10.5) * 1e9],
    ['-1s', -1e9],
    ['+1s', 1e9],
  ])('parses %s', (text, ns) => {
    expect(parseGoDurationNs(text)).toBeCloseTo(ns, 0);
  });

  it.each(['', '10', '1 h', 's', '1d', '1h-5m', '.s', '10seconds', '9999999999h'])('rejects %j', (text) => {
    expect(parseGoDurationNs(text)).toBeUndefined();
  });
});
