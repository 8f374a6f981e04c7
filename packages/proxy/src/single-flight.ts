/**
 * One operation per key at a time inside this process: the first caller for a key leads, later
 * callers wait for the leader to finish (successfully or not) and then look again at what it left.
 */
export class Flights {
  private readonly running = new Map<string, Promise<void>>();

  /** Resolves once no operation for `key` is running (at once when none is). Never rejects. */
  async idle(key: string): Promise<boolean> {
    let waited = false;
    for (let flight = this.running.get(key); flight; flight = this.running.get(key)) {
      waited = true;
      await flight;
    }
    return waited;
  }

  /**
   * Claims `key` when no operation for it runs; returns the function that releases it (idempotent),
   * or undefined when another caller holds it. Checking and claiming happen in one synchronous step.
   */
  claim(key: string): (() => void) | undefined {
    if (this.running.has(key)) return undefined;
    let release!: () => void;
    const flight = new Promise<void>((resolve) => (release = resolve));
    this.running.set(key, flight);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running.delete(key);
      release();
    };
  }

  /** Keys with an operation running (for tests and logs). */
  get size(): number {
    return this.running.size;
  }
}
