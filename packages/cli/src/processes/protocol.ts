import type { BerthConfig } from '@berth/config';
import type { UploadDigestQuery } from '@berth/registry';

/**
 * Messages between `berth serve`'s main process and its helper processes (`http.workers` > 1),
 * over the IPC channel of `child_process.fork`. A connection travels as a `connection` message
 * carrying the accepted socket as its handle. Either side may `ask` a question, which the other
 * side `answer`s with the same id.
 */
export type Question =
  /** The helper's metrics as `Registry.getMetricsAsJSON` gives them (`[]` without metrics). */
  | { readonly kind: 'metrics' }
  /** The digest of an upload's first `size` bytes, from a hash state covering exactly those. */
  | { readonly kind: 'digest'; readonly query: UploadDigestQuery }
  /**
   * A helper asks the main process for an upload session's lock (`HostLocks`); answered `true` once
   * granted, however long that takes (never given up by a timeout: a grant nobody awaits would keep
   * the lock forever).
   */
  | { readonly kind: 'lock'; readonly key: string }
  /** A helper gives back a lock it was granted (answered at once, the answer means nothing). */
  | { readonly kind: 'unlock'; readonly key: string };

export interface Ask {
  readonly type: 'ask';
  readonly id: number;
  readonly question: Question;
}

export interface Answer {
  readonly type: 'answer';
  readonly id: number;
  /** `metrics`: the JSON list; `digest`: the hex digest, or undefined (omitted in JSON). */
  readonly value?: unknown;
}

export type ToHelper =
  | { readonly type: 'start'; readonly index: number; readonly config: BerthConfig }
  | { readonly type: 'connection' }
  | { readonly type: 'stop'; readonly drainMs: number }
  | { readonly type: 'force' }
  | Ask
  | Answer;

export type FromHelper =
  | { readonly type: 'ready' }
  | { readonly type: 'failed'; readonly message: string }
  | { readonly type: 'stopped'; readonly forced: boolean }
  | Ask
  | Answer;

export function isMessage<T extends { type: string }>(value: unknown): value is T {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}

/**
 * A question not answered within this long is answered "nothing": a helper's metrics are left out of
 * the scrape, an upload the other side may have hashed is hashed again from storage.
 */
const ANSWER_TIMEOUT_MS = 5_000;

/** Questions this side asked that await their answer, each given up after `timeoutMs` (answer undefined). */
export class PendingQuestions {
  private next = 0;
  private readonly waiting = new Map<number, (value: unknown) => void>();

  constructor(private readonly timeoutMs = ANSWER_TIMEOUT_MS) {}

  /**
   * Registers a question; `send` transmits the `ask` message. Resolves with the answer's value.
   * `lock` questions wait without a timeout (until answered or `abandon`ed).
   */
  ask(question: Question, send: (message: Ask) => void): Promise<unknown> {
    const id = this.next++;
    return new Promise((resolve) => {
      const timer = question.kind === 'lock' ? undefined : setTimeout(() => settle(undefined), this.timeoutMs);
      const settle = (value: unknown): void => {
        if (timer) clearTimeout(timer);
        this.waiting.delete(id);
        resolve(value);
      };
      this.waiting.set(id, settle);
      send({ type: 'ask', id, question });
    });
  }

  /** Delivers an `answer` message. */
  settle(answer: Answer): void {
    this.waiting.get(answer.id)?.(answer.value);
  }

  /** Answers every open question with undefined (the other side is gone). */
  abandon(): void {
    for (const settle of [...this.waiting.values()]) settle(undefined);
  }
}
