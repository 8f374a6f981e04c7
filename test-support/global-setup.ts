import type { Config } from '@jest/types';
import { provideS3, type RunningS3 } from './s3-server';

/** Where global setup leaves what global teardown must stop (jest runs both in its main process). */
const STATE = Symbol.for('berth.test-support.running-s3');

interface GlobalState {
  [STATE]?: RunningS3;
}

/** A test-path filter matching jest's own selection, when jest gives one. */
function selectionFilter(globalConfig: Config.GlobalConfig): ((path: string) => boolean) | undefined {
  if (globalConfig.findRelatedTests || globalConfig.onlyChanged) return undefined;
  const patterns = globalConfig.testPathPatterns;
  if (!patterns?.isSet?.()) return undefined;
  const executor = patterns.toExecutor({ rootDir: globalConfig.rootDir });
  return (path) => executor.isMatch(path);
}

/**
 * Starts the shared test services before any test file runs (see test-support/README.md): today
 * the S3 server, exported to the workers through process.env.
 */
export default async function globalSetup(globalConfig: Config.GlobalConfig): Promise<void> {
  const running = await provideS3({ rootDir: globalConfig.rootDir, isSelected: selectionFilter(globalConfig) });
  if (running) (globalThis as GlobalState)[STATE] = running;
}
