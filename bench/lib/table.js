'use strict';
// The results table, as aligned text for the terminal and as Markdown for docs/benchmarks.md.

function formatValue(value, unit) {
  if (value === undefined || value === null || Number.isNaN(value)) return '—';
  const digits = unit === 'ms' ? 1 : unit === 's' ? 2 : Math.abs(value) >= 100 ? 0 : 1;
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function verdict(met) {
  return met === undefined ? '—' : met ? 'yes' : 'NO';
}

function rowsOf(summary) {
  return summary.map((r) => {
    const runs = r.runs.berth.length;
    return [
      `${r.label}${r.driver === 's3' ? ' [s3]' : ''}`,
      r.unit,
      formatValue(r.berth, r.unit),
      formatValue(r.distribution, r.unit),
      r.ratio === undefined ? '—' : `${r.ratio.toFixed(2)}×`,
      r.targetText,
      verdict(r.met),
      `${runs}${r.aggregate === 'max' ? ' (max)' : ''}`,
    ];
  });
}

const HEADER = ['row', 'unit', 'Berth', 'distribution', 'ratio B/d', 'target', 'met', 'runs'];

function textTable(summary) {
  const rows = [HEADER, ...rowsOf(summary)];
  const widths = HEADER.map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  const line = (row) => row.map((cell, i) => (i >= 2 && i <= 4 ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join('  ');
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

function markdownTable(summary) {
  const rows = rowsOf(summary);
  const align = ['---', '---', '---:', '---:', '---:', '---', '---', '---:'];
  return [HEADER, align, ...rows].map((row) => `| ${row.join(' | ')} |`).join('\n');
}

module.exports = { markdownTable, textTable };
