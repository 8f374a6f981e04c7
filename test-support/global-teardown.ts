import type { RunningS3 } from './s3-server';

const STATE = Symbol.for('berth.test-support.running-s3');

/** Stops what global-setup started: exactly the S3 server's process group (or container), and its data. */
export default async function globalTeardown(): Promise<void> {
  const state = globalThis as { [STATE]?: RunningS3 };
  const running = state[STATE];
  if (!running) return;
  delete state[STATE];
  await running.stop();
}
