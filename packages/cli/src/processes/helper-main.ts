import type { Socket } from 'node:net';
import type { BerthConfig } from '@berth/config';
import { createLogger } from '@berth/logging';
import { KeyedMutex, UploadHashCache, type KeyedLock, type UploadDigestQuery, type UploadHashPeers } from '@berth/registry';
import { createDriverFactories, describeError, preflight } from '../load';
import { openStack, type ServingStack } from '../stack';
import { isMessage, PendingQuestions, type FromHelper, type Question, type ToHelper } from './protocol';

/**
 * A helper process of `berth serve` (`http.workers` > 1), forked by the main process: it waits for
 * the main process's configuration, opens the same serving stack (its own driver, application and
 * metrics, without the debug server and upload purging), serves the connections the main process
 * hands it, answers its questions, and drains and exits when told to, on SIGTERM or SIGINT, or
 * when the main process is gone.
 */

/** Sends a message to the main process; resolves once it was written (or could not be). */
function send(message: FromHelper): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected || !process.send) return resolve();
    process.send(message, undefined, undefined, () => resolve());
  });
}

/**
 * The other processes' upload hash states, and the upload session locks the main process keeps
 * (`HostLocks`), reached through the main process. A session's lock is asked there once this
 * process's own requests for it took their turn, so one helper waits for one grant per key.
 */
class MainProcessPeers implements UploadHashPeers, KeyedLock {
  readonly questions = new PendingQuestions();
  private readonly local = new KeyedMutex();

  async digestOf(query: UploadDigestQuery): Promise<string | undefined> {
    const value = await this.questions.ask({ kind: 'digest', query }, (message) => void send(message));
    return typeof value === 'string' ? value : undefined;
  }

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.local.run(key, async () => {
      const granted = await this.questions.ask({ kind: 'lock', key }, (message) => void send(message));
      // Only when the main process is gone (this process is stopping): the request fails, unlocked.
      if (granted !== true) throw new Error(`the lock of upload ${key} was not granted: the main process is gone`);
      try {
        return await fn();
      } finally {
        void this.questions.ask({ kind: 'unlock', key }, (message) => void send(message));
      }
    });
  }
}

async function answer(question: Question, stack: ServingStack, uploadHashes: UploadHashCache): Promise<unknown> {
  if (question.kind === 'metrics') return (await stack.operations.metrics?.metricsJson()) ?? [];
  if (question.kind !== 'digest') return undefined;
  return uploadHashes.digestAt(question.query);
}

function serve(stack: ServingStack, config: BerthConfig, uploadHashes: UploadHashCache, peers: MainProcessPeers): void {
  let stopping: Promise<void> | undefined;
  const stop = (drainMs: number): void => {
    stopping ??= (async () => {
      const result = await stack.graceful.shutdown(drainMs);
      let code = 0;
      await stack.close().catch(() => (code = 1));
      await send({ type: 'stopped', forced: result.forced });
      process.exit(code);
    })();
  };
  process.on('message', (message: unknown, handle: unknown) => {
    if (!isMessage<ToHelper>(message)) return;
    switch (message.type) {
      case 'connection':
        if (handle) stack.graceful.accept(handle as Socket);
        break;
      case 'ask':
        void answer(message.question, stack, uploadHashes).then(
          (value) => send({ type: 'answer', id: message.id, value }),
          () => send({ type: 'answer', id: message.id }),
        );
        break;
      case 'answer':
        peers.questions.settle(message);
        break;
      case 'stop':
        stop(message.drainMs);
        break;
      case 'force':
        stack.graceful.forceNow();
        break;
    }
  });
  // A signal sent to the whole process group (Ctrl-C) reaches the helpers too: the same drain as
  // the main process's; a second one cuts it short.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => (stopping ? stack.graceful.forceNow() : stop(config.http.draintimeout)));
  }
  // The main process is gone (killed): nobody routes connections here any more.
  process.once('disconnect', () => {
    peers.questions.abandon();
    stop(0);
  });
}

process.once('message', (message: unknown) => {
  if (!isMessage<ToHelper>(message) || message.type !== 'start') return;
  const { config, index } = message;
  const logger = createLogger({ level: config.log.level, formatter: config.log.formatter, fields: { ...config.log.fields, worker: index } });
  const uploadHashes = new UploadHashCache();
  const peers = new MainProcessPeers();
  (async () => {
    const stack = await openStack(config, createDriverFactories(), logger, preflight(config), {
      role: 'helper',
      uploadHashes,
      uploadHashPeers: peers,
      uploadLocks: peers,
    });
    serve(stack, config, uploadHashes, peers);
    await send({ type: 'ready' });
  })().catch(async (error: unknown) => {
    await send({ type: 'failed', message: describeError(error) });
    process.exit(1);
  });
});
