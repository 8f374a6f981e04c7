/**
 * A registry process that dies: starts a notifier on argv[2] (spool dir) for the endpoint argv[3],
 * queues argv[4] events, waits until they are on disk, prints `spooled <instanceId>` and waits to
 * be killed (SIGKILL, so nothing is closed or released). Loads the TypeScript sources directly.
 */
require('ts-node').register({ transpileOnly: true, skipProject: true, compilerOptions: { module: 'commonjs', target: 'es2022' } });
const { createNotifier } = require('../../src/notifier.ts');

const [spoolDir, url, count] = process.argv.slice(2);
const quiet = { error() {}, warn() {}, info() {}, debug() {}, child() { return quiet; } };

(async () => {
  const notifier = await createNotifier({
    endpoints: [{ name: 'listener', url, timeout: 200, threshold: 1, backoff: 60_000 }],
    spoolDir,
    logger: quiet,
    sourceAddr: 'crashing.test:5000',
  });
  for (let n = 1; n <= Number(count); n++) {
    notifier.onEvent({
      action: 'push',
      timestamp: new Date(),
      target: { repository: 'library/test', mediaType: 'application/octet-stream', digest: `sha256:${String(n).padStart(64, '0')}`, size: n },
      request: { id: `request-${n}`, addr: '127.0.0.1:1234', host: 'registry.test', method: 'PUT', useragent: 'test' },
      actor: {},
    });
  }
  await notifier.flush();
  process.stdout.write(`spooled ${notifier.instanceId}\n`);
  setInterval(() => undefined, 1000);
})().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
