/** Go durations: the parser lives in @berth/storage-driver (drivers read duration parameters too). */
import { parseGoDurationNs } from '@berth/storage-driver';

export { parseGoDurationNs };

/** A Go `time.Duration` as YAML gives it (a duration string, or an integer of nanoseconds) in ms. */
export function durationToMs(value: string | number): number {
  const ns = typeof value === 'number' ? value : parseGoDurationNs(value);
  if (ns === undefined) throw new Error(`not a Go duration: ${String(value)}`);
  return ns / 1e6;
}
