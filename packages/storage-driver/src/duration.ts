/**
 * Go's `time.ParseDuration` grammar: an optional sign, then one or more decimal numbers each with a
 * unit (`ns`, `us`/`µs`/`μs`, `ms`, `s`, `m`, `h`), e.g. `300ms`, `1.5h`, `2h45m`; `0` alone is
 * allowed. Berth keeps durations as milliseconds (fractional below one millisecond).
 */

const UNIT_NS: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  'µs': 1e3,
  'μs': 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

const PART = /^(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/;
const MAX_NS = 2 ** 63 - 1;

/** Parses a Go duration string into nanoseconds; `undefined` when it is not one. */
export function parseGoDurationNs(text: string): number | undefined {
  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest[0] === '-') sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') return undefined;
  let total = 0;
  while (rest !== '') {
    const m = PART.exec(rest);
    if (!m) return undefined;
    const [whole, intPart, fracPart, unit] = m as unknown as [string, string, string | undefined, string];
    if (intPart === '' && (fracPart === undefined || fracPart === '')) return undefined;
    const value = Number(`${intPart || '0'}.${fracPart ?? ''}0`);
    total += value * (UNIT_NS[unit] as number);
    rest = rest.slice(whole.length);
  }
  if (total > MAX_NS) return undefined;
  return sign * total;
}
