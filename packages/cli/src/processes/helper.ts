import { fork, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import type { BerthConfig } from '@berth/config';
import type { UploadDigestQuery } from '@berth/registry';
import type { ConnectionPeer } from '../router';
import { isMessage, PendingQuestions, type FromHelper, type Question, type ToHelper } from './protocol';

/** The helper's entry point (`bin/berth-helper.js`), from `src/processes` and `dist/processes` alike. */
const HELPER_ENTRY = join(__dirname, '..', '..', 'bin', 'berth-helper.js');

/** After the drain timeout, a helper that has not exited gets this long before SIGKILL. */
const EXIT_GRACE_MS = 10_000;

/** How a helper process ended. */
export interface HelperExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A helper failed before it could serve; `message` is what it reported (or how it died). */
export class HelperStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HelperStartError';
  }
}

/** How the main process answers a helper's question (`digest`: from its own and the other helpers' states). */
export type QuestionHandler = (question: Question, from: HelperProcess) => Promise<unknown>;

/**
 * One helper process, seen from the main process: started with the main process's resolved
 * configuration (so both sign uploads with the same `http.secret`), handed connections, asked for
 * its metrics and upload digests, and stopped.
 */
export class HelperProcess implements ConnectionPeer {
  readonly exited: Promise<HelperExit>;
  readonly startedAt = Date.now();
  private ready = false;
  private forced = false;
  private readonly questions = new PendingQuestions();

  private constructor(
    readonly index: number,
    private readonly child: ChildProcess,
    onQuestion: QuestionHandler,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    void this.exited.then(() => {
      this.ready = false;
      this.questions.abandon();
    });
    child.on('message', (message: unknown) => {
      if (!isMessage<FromHelper>(message)) return;
      if (message.type === 'answer') this.questions.settle(message);
      else if (message.type === 'ask') {
        void onQuestion(message.question, this).then(
          (value) => this.send({ type: 'answer', id: message.id, value }),
          () => this.send({ type: 'answer', id: message.id }),
        );
      } else if (message.type === 'stopped') this.forced = message.forced;
    });
  }

  /** Forks helper `index` and resolves once it serves; rejects with `HelperStartError` otherwise. */
  static async start(index: number, config: BerthConfig, onQuestion: QuestionHandler): Promise<HelperProcess> {
    const child = fork(HELPER_ENTRY, [], { stdio: 'inherit' });
    const helper = new HelperProcess(index, child, onQuestion);
    const answer = new Promise<FromHelper>((resolve) => {
      child.on('message', (message: unknown) => {
        if (isMessage<FromHelper>(message) && (message.type === 'ready' || message.type === 'failed')) resolve(message);
      });
    });
    helper.send({ type: 'start', index, config });
    const first = await Promise.race([answer, helper.exited]);
    if ('type' in first && first.type === 'ready') {
      helper.ready = true;
      return helper;
    }
    child.kill('SIGKILL');
    if ('type' in first && first.type === 'failed') throw new HelperStartError(first.message);
    throw new HelperStartError(`helper process ${index} exited during start-up (${describeExit(first as HelperExit)})`);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get isReady(): boolean {
    return this.ready && this.child.connected;
  }

  handOff(socket: Socket): boolean {
    if (!this.isReady) return false;
    // The socket is the helper's once sent; should the channel fail on the way, the client retries.
    this.child.send({ type: 'connection' } satisfies ToHelper, socket, { keepOpen: false }, (error) => {
      if (error) socket.destroy();
    });
    return true;
  }

  /** The helper's metrics (`getMetricsAsJSON`); empty when it has none or does not answer in time. */
  async metrics(): Promise<readonly unknown[]> {
    const value = await this.ask({ kind: 'metrics' });
    return Array.isArray(value) ? value : [];
  }

  /** The digest the helper's hash state gives for `query`, if it has one covering exactly its bytes. */
  async digestOf(query: UploadDigestQuery): Promise<string | undefined> {
    const value = await this.ask({ kind: 'digest', query });
    return typeof value === 'string' ? value : undefined;
  }

  /**
   * Asks the helper to drain (`http.draintimeout`) and exit, and resolves once it has; it is
   * killed if it outlives the drain by `EXIT_GRACE_MS`. Resolves with whether it cut requests.
   */
  async stop(drainMs: number): Promise<boolean> {
    this.ready = false;
    this.send({ type: 'stop', drainMs });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), drainMs + EXIT_GRACE_MS);
    const exit = await this.exited;
    clearTimeout(timer);
    return this.forced || exit.code !== 0;
  }

  /** Cuts a pending `stop` short (a second signal). */
  force(): void {
    this.send({ type: 'force' });
  }

  /** Ends the process at once (start-up failed elsewhere). */
  kill(): void {
    this.child.kill('SIGKILL');
  }

  private ask(question: Question): Promise<unknown> {
    if (!this.isReady) return Promise.resolve(undefined);
    return this.questions.ask(question, (message) => this.send(message));
  }

  private send(message: ToHelper): void {
    if (this.child.connected) this.child.send(message, (error: Error | null) => void error);
  }
}

export function describeExit(exit: HelperExit): string {
  return exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
}
