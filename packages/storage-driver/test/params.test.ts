import { DriverParameterError, ParameterReader } from '@berth/storage-driver';

function failure(fn: () => unknown): DriverParameterError {
  try {
    fn();
  } catch (error) {
    if (error instanceof DriverParameterError) return error;
    throw error;
  }
  throw new Error('expected a DriverParameterError');
}

describe('ParameterReader', () => {
  it('reads strings, treating undefined, null and "" as unset', () => {
    const reader = new ParameterReader('s3', { bucket: 'b', port: 9000, empty: '', nothing: null });
    expect(reader.string('bucket')).toBe('b');
    expect(reader.string('port')).toBe('9000');
    expect(reader.string('empty', 'fallback')).toBe('fallback');
    expect(reader.string('nothing')).toBeUndefined();
    expect(reader.string('absent', 'x')).toBe('x');
  });

  it('rejects a non-scalar string value, naming the driver and key', () => {
    const error = failure(() => new ParameterReader('s3', { bucket: ['a'] }).string('bucket'));
    expect(error).toMatchObject({ driver: 's3', key: 'bucket', code: 'DRIVER_PARAMETER_INVALID' });
    expect(error.message).toMatch(/^storage\.s3\.bucket: must be a string/);
  });

  it('requires a required string', () => {
    expect(new ParameterReader('s3', { bucket: 'b' }).requiredString('bucket')).toBe('b');
    expect(failure(() => new ParameterReader('s3', { bucket: '' }).requiredString('bucket')).message).toBe('storage.s3.bucket: is required');
  });

  it('reads booleans from YAML values and from environment strings', () => {
    const reader = new ParameterReader('s3', { a: true, b: 'FALSE', c: 'true', d: 'yes' });
    expect(reader.boolean('a', false)).toBe(true);
    expect(reader.boolean('b', true)).toBe(false);
    expect(reader.boolean('c', false)).toBe(true);
    expect(reader.boolean('absent', true)).toBe(true);
    expect(failure(() => reader.boolean('d', false)).key).toBe('d');
  });

  it('reads integers from numbers and numeric strings, within a range', () => {
    const reader = new ParameterReader('s3', { a: 10485760, b: ' 42 ', c: '-3', d: 1.5, e: '12abc', f: 4 });
    expect(reader.integer('a', 0)).toBe(10485760);
    expect(reader.integer('b', 0)).toBe(42);
    expect(reader.integer('c', 0)).toBe(-3);
    expect(reader.integer('absent', 7)).toBe(7);
    expect(failure(() => reader.integer('d', 0)).message).toContain('must be an integer');
    expect(failure(() => reader.integer('e', 0)).key).toBe('e');
    expect(failure(() => reader.integer('f', 0, { min: 5 })).message).toContain('must be between 5 and');
    expect(failure(() => reader.integer('a', 0, { max: 100 })).key).toBe('a');
  });

  it('reads one of a fixed set, case-insensitively, answering the canonical spelling', () => {
    const reader = new ParameterReader('s3', { cls: 'standard_ia', bad: 'GOLD' });
    const classes = ['STANDARD', 'STANDARD_IA'] as const;
    expect(reader.oneOf('cls', classes, 'STANDARD')).toBe('STANDARD_IA');
    expect(reader.oneOf('absent', classes, 'STANDARD')).toBe('STANDARD');
    expect(failure(() => reader.oneOf('bad', classes, 'STANDARD')).message).toContain('must be one of STANDARD, STANDARD_IA');
  });

  it('rejects unknown keys so that a typo cannot pass silently', () => {
    expect(() => new ParameterReader('filesystem', { rootdirectory: '/x' }).rejectUnknown(['rootdirectory'])).not.toThrow();
    const error = failure(() => new ParameterReader('filesystem', { rootdir: '/x' }).rejectUnknown(['rootdirectory', 'maxthreads']));
    expect(error).toMatchObject({ driver: 'filesystem', key: 'rootdir' });
    expect(error.message).toContain('unknown parameter (known: rootdirectory, maxthreads)');
  });

  it('reads Go durations as milliseconds (strings, or integers of nanoseconds), within a range, naming the key otherwise', () => {
    const read = new ParameterReader('s3', { a: '1m30s', b: 250_000_000, c: '10', d: '-1s', e: '' });
    expect(read.durationMs('a', 5)).toBe(90_000);
    expect(read.durationMs('b', 5)).toBe(250);
    expect(read.durationMs('e', 5)).toBe(5);
    expect(failure(() => read.durationMs('c', 5))).toMatchObject({ key: 'c', message: expect.stringContaining('must be a Go duration') });
    expect(failure(() => read.durationMs('d', 5, { minMs: 1 }))).toMatchObject({ key: 'd', message: expect.stringContaining('must be between 1ms and ∞') });
  });
});
