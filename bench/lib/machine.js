'use strict';
// What the figures were measured on and with: hardware, versions of every tool, the commit.
const os = require('node:os');
const { run } = require('./processes');
const { DOCKER_REGISTRY, REPO_ROOT } = require('./servers');

async function firstLine(command, args) {
  try {
    const { stdout, stderr } = await run(command, args, { timeoutMs: 10_000 });
    return (stdout || stderr).split('\n')[0].trim();
  } catch {
    return 'not available';
  }
}

async function describeMachine() {
  const commit = await firstLine('git', ['-C', REPO_ROOT, 'rev-parse', '--short', 'HEAD']);
  const dirty = await run('git', ['-C', REPO_ROOT, 'status', '--porcelain', '--untracked-files=no', 'packages']).then(
    ({ stdout }) => stdout.trim() !== '',
    () => false,
  );
  return {
    date: new Date().toISOString(),
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
    kernel: os.release(),
    loadAverageAtStart: os.loadavg().map((x) => Number(x.toFixed(2))),
    node: process.version,
    distribution: await firstLine(DOCKER_REGISTRY, ['--version']),
    skopeo: await firstLine('skopeo', ['--version']),
    curl: await firstLine('curl', ['--version']),
    autocannon: require('autocannon/package.json').version,
    commit: `${commit}${dirty ? ' (packages/ modified)' : ''}`,
  };
}

module.exports = { describeMachine };
