import type { BerthConfig } from '@berth/config';
import type { UploadDigestQuery, UploadHashCache, UploadHashPeers } from '@berth/registry';
import type { Logger } from '@berth/storage-driver';
import { describeExit, HelperProcess, type HelperExit, type QuestionHandler } from './helper';
import { HostLocks } from './host-locks';

/** A helper that crashed is started again after 1 s, then 2, 4, … up to this long. */
const MAX_RESTART_DELAY_MS = 60_000;
/** A helper that served this long before it crashed counts as healthy: the delay starts over. */
const STABLE_AFTER_MS = 60_000;

/**
 * The helper processes of `berth serve` (`http.workers` − 1 of them). `start` resolves once all
 * serve; a helper that dies afterwards is logged and started again (with a growing delay while it
 * keeps dying); the main process keeps serving meanwhile with the others. As `UploadHashPeers` it
 * asks the helpers for upload digests on the main process's behalf, and it answers a helper's
 * question from the main process's hash states (`uploadHashes`) and the other helpers'. It keeps the
 * upload session locks of every process (`uploadLocks` for the main process's own requests).
 */
export class HelperPool implements UploadHashPeers {
  private readonly helpers: (HelperProcess | undefined)[];
  private readonly crashes: number[];
  private readonly restartTimers = new Set<NodeJS.Timeout>();
  private stopping = false;
  private readonly locks = new HostLocks();
  /** The upload session lock of the main process's requests, shared with the helpers. */
  readonly uploadLocks = this.locks.local;

  constructor(
    count: number,
    private readonly config: BerthConfig,
    private readonly logger: Logger,
    private readonly uploadHashes: UploadHashCache,
  ) {
    this.helpers = new Array<HelperProcess | undefined>(count).fill(undefined);
    this.crashes = new Array<number>(count).fill(0);
  }

  /** Starts every helper; on a failure the others are ended and the error propagates. */
  async start(): Promise<void> {
    const started = await Promise.allSettled(this.helpers.map((_, i) => this.launch(i)));
    const failure = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) {
      this.stopping = true;
      for (const helper of this.helpers) helper?.kill();
      await Promise.all(this.helpers.map((h) => h?.exited));
      throw failure.reason;
    }
  }

  /** The helpers that take connections now. */
  ready(): HelperProcess[] {
    return this.helpers.filter((h): h is HelperProcess => h?.isReady === true);
  }

  /** Every helper's metrics, for the main process's debug server to add to its own. */
  async metrics(): Promise<(readonly unknown[])[]> {
    return Promise.all(this.ready().map((h) => h.metrics()));
  }

  /** The digest a helper's hash state gives for `query` (the main process lacks one). */
  digestOf(query: UploadDigestQuery, except?: HelperProcess): Promise<string | undefined> {
    const asked = this.ready().filter((h) => h !== except);
    return new Promise((resolve) => {
      let left = asked.length;
      if (left === 0) return resolve(undefined);
      for (const helper of asked) {
        void helper.digestOf(query).then((digest) => {
          if (digest !== undefined) resolve(digest);
          else if (--left === 0) resolve(undefined);
        });
      }
    });
  }

  /** Drains and ends every helper; resolves with whether any of them cut requests. */
  async stop(drainMs: number): Promise<boolean> {
    this.stopping = true;
    for (const timer of this.restartTimers) clearTimeout(timer);
    const forced = await Promise.all(this.helpers.map((h) => h?.stop(drainMs)));
    return forced.some((f) => f === true);
  }

  /** Cuts the helpers' drain short. */
  force(): void {
    for (const helper of this.helpers) helper?.force();
  }

  private async launch(index: number): Promise<void> {
    const helper = await HelperProcess.start(index + 1, this.config, this.answer);
    if (this.stopping) {
      helper.kill();
      return;
    }
    this.helpers[index] = helper;
    void helper.exited.then((exit) => {
      this.locks.releaseAll(helper);
      this.exitedUnexpectedly(index, helper, exit);
    });
  }

  private readonly answer: QuestionHandler = async (question, from) => {
    if (question.kind === 'lock') return (await this.locks.acquire(question.key, from)) || undefined;
    if (question.kind === 'unlock') {
      this.locks.release(question.key, from);
      return undefined;
    }
    if (question.kind !== 'digest') return undefined;
    return this.uploadHashes.digestAt(question.query) ?? this.digestOf(question.query, from);
  };

  private exitedUnexpectedly(index: number, helper: HelperProcess, exit: HelperExit): void {
    if (this.stopping || this.helpers[index] !== helper) return;
    this.helpers[index] = undefined;
    if (Date.now() - helper.startedAt >= STABLE_AFTER_MS) this.crashes[index] = 0;
    this.scheduleRestart(index, `helper process ${helper.index} (pid ${helper.pid}) ended with ${describeExit(exit)}`);
  }

  private scheduleRestart(index: number, what: string): void {
    const crashes = ++this.crashes[index]!;
    const delayMs = Math.min(MAX_RESTART_DELAY_MS, 1000 * 2 ** (crashes - 1));
    this.logger.error(`${what}: starting a new one in ${delayMs / 1000} s`);
    const timer = setTimeout(() => {
      this.restartTimers.delete(timer);
      if (this.stopping) return;
      this.launch(index).catch((error: unknown) => {
        this.scheduleRestart(index, `helper process ${index + 1} did not start (${error instanceof Error ? error.message : String(error)})`);
      });
    }, delayMs);
    this.restartTimers.add(timer);
  }
}
