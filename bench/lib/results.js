'use strict';
// Collected figures: one record per row and driver, holding every run of each registry, the
// aggregate (median, or max for memory peaks), the ratio Berth / distribution and the target.

function median(values) {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function aggregate(values, how) {
  if (values.length === 0) return undefined;
  return how === 'max' ? Math.max(...values) : median(values);
}

/**
 * A target: `{ on: 'ratio' | 'berth', op: '>=' | '<=', value }`: the ratio Berth / distribution,
 * or Berth's own figure, compared with `value`.
 */
function describeTarget(target, unit) {
  if (!target) return '—';
  const op = target.op === '>=' ? '≥' : '≤';
  return target.on === 'ratio' ? `${op} ${target.value}×` : `${op} ${target.value} ${unit}`;
}

function targetMet(target, berth, ratio) {
  if (!target) return undefined;
  const value = target.on === 'ratio' ? ratio : berth;
  if (value === undefined || Number.isNaN(value)) return undefined;
  return target.op === '>=' ? value >= target.value : value <= target.value;
}

class Results {
  constructor() {
    this.records = [];
    /** One entry per timed measurement, see ctx.settle. */
    this.measurements = [];
  }

  /**
   * The record of row `spec.id` on `driver`, created on first use. `spec`: `{ id, label, unit,
   * better: 'higher' | 'lower', aggregate?: 'median' | 'max', target? }`.
   */
  row(driver, spec) {
    let record = this.records.find((r) => r.driver === driver && r.id === spec.id);
    if (!record) {
      record = { driver, aggregate: 'median', ...spec, runs: { berth: [], distribution: [] }, notes: [] };
      this.records.push(record);
    }
    return record;
  }

  add(driver, spec, product, value) {
    this.row(driver, spec).runs[product].push(value);
  }

  note(driver, spec, text) {
    const record = this.row(driver, spec);
    if (!record.notes.includes(text)) record.notes.push(text);
  }

  /** Every record with its aggregates, ratio and verdict filled in. */
  summary() {
    return this.records.map((record) => {
      const berth = aggregate(record.runs.berth, record.aggregate);
      const distribution = aggregate(record.runs.distribution, record.aggregate);
      const ratio = !record.noRatio && berth !== undefined && distribution ? berth / distribution : undefined;
      return { ...record, berth, distribution, ratio, targetText: describeTarget(record.target, record.unit), met: targetMet(record.target, berth, ratio) };
    });
  }
}

module.exports = { Results, median };
