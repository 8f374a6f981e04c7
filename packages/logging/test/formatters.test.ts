import { PassThrough } from 'node:stream';
import { createLogger, type LogFormatter, type LogOptions } from '../src';

/** A real winston logger writing into a stream; `lines()` resolves once `count` lines were written. */
function capture(options: LogOptions): { logger: ReturnType<typeof createLogger>; lines(count: number): Promise<string[]> } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  const logger = createLogger({ level: 'debug', ...options, stream });
  return {
    logger,
    async lines(count) {
      const deadline = Date.now() + 5_000;
      while (text.split('\n').length - 1 < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
      return text.trimEnd().split('\n');
    },
  };
}

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

describe('log.formatter json', () => {
  it('prints one object a line with distribution’s time, level and msg beside the fields', async () => {
    const { logger, lines } = capture({ formatter: 'json', fields: { service: 'registry' } });
    logger.child({ component: 'gc' }).info('listening on 127.0.0.1:5000', { workers: 2 });
    logger.warn('careful');
    const [first, second] = (await lines(2)).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(first).toEqual({ level: 'info', msg: 'listening on 127.0.0.1:5000', time: expect.stringMatching(RFC3339), service: 'registry', component: 'gc', workers: 2 });
    expect(first).not.toHaveProperty('message');
    expect(first).not.toHaveProperty('timestamp');
    expect(second).toMatchObject({ level: 'warning', msg: 'careful' });
  });

  it('renames a field that would overwrite time, level or msg to fields.<name>', async () => {
    const { logger, lines } = capture({ formatter: 'json' });
    logger.info('real message', { msg: 'imposter', time: 'never' });
    expect(JSON.parse((await lines(1))[0]!)).toMatchObject({ msg: 'real message', 'fields.msg': 'imposter', 'fields.time': 'never', time: expect.stringMatching(RFC3339) });
  });
});

describe('log.formatter logstash', () => {
  it('prints @timestamp, @version "1", level and message beside the fields, not json’s time and msg', async () => {
    const { logger, lines } = capture({ formatter: 'logstash', fields: { service: 'registry' } });
    logger.info('listening on 127.0.0.1:5000', { driver: 'filesystem' });
    const line = JSON.parse((await lines(1))[0]!) as Record<string, unknown>;
    expect(line).toEqual({
      '@timestamp': expect.stringMatching(RFC3339),
      '@version': '1',
      level: 'info',
      message: 'listening on 127.0.0.1:5000',
      service: 'registry',
      driver: 'filesystem',
    });
  });
});

describe('log.formatter text', () => {
  it('prints logrus’s key=value line, quoting values only when they need it', async () => {
    const { logger, lines } = capture({ formatter: 'text' });
    logger.info('listening on 127.0.0.1:5000', { driver: 'filesystem', root: '/var/lib/registry', workers: 2, note: 'two words', empty: '', nested: { a: 1 } });
    logger.debug('plain');
    const [first, second] = await lines(2);
    expect(first).toMatch(
      /^time="\d{4}-\d\d-\d\dT[\d:.]+Z" level=info msg="listening on 127\.0\.0\.1:5000" driver=filesystem root=\/var\/lib\/registry workers=2 note="two words" empty="" nested="\{\\"a\\":1\}"$/,
    );
    expect(second).toMatch(/ level=debug msg=plain$/);
  });

  it('is the formatter when none is configured', async () => {
    const { logger, lines } = capture({});
    logger.error('boom', { error: new Error('disk full') });
    expect((await lines(1))[0]).toMatch(/^time="[^"]+" level=error msg=boom error="disk full"$/);
  });
});

describe('every formatter keeps secrets out of the log', () => {
  it.each<LogFormatter>(['text', 'json', 'logstash'])('%s redacts credential-looking fields, also nested and in log.fields', async (formatter) => {
    const { logger, lines } = capture({ formatter, fields: { apikey: 'field-secret-1' } });
    logger.info('configured', { config: { http: { secret: 'http-secret-2' }, storage: { s3: { secretkey: 'storage-secret-3', bucket: 'images' } } }, password: 'pw-4' });
    logger.info('header', { headers: [{ Authorization: 'Bearer token-5' }] });
    const output = (await lines(2)).join('\n');
    for (const secret of ['field-secret-1', 'http-secret-2', 'storage-secret-3', 'pw-4', 'token-5']) expect(output).not.toContain(secret);
    expect(output).toContain('images');
    expect(output).toContain('<redacted>');
  });
});

describe('entries the logger does not print', () => {
  it.each<LogFormatter>(['text', 'json', 'logstash'])('%s: a line below the level is dropped before it is formatted', async (formatter) => {
    let formatted = 0;
    const probe = { toJSON: () => (formatted++, 'probe') };
    const { logger, lines } = capture({ formatter, level: 'info' });
    logger.debug('below the level', { probe });
    logger.info('printed', { probe });
    expect(await lines(1)).toHaveLength(1);
    expect(formatted).toBe(1);
  });
});
