import { provideS3, type RunningS3 } from './s3-server';

/** Where global setup leaves what global teardown must stop (jest runs both in its main process). */
const STATE = Symbol.for('berth.test-support.running-s3');

interface GlobalState {
  [STATE]?: RunningS3;
}

/** The parts of jest's GlobalConfig the setup reads, as jest 29 (`testPathPattern`) and 30 (`testPathPatterns`) spell them. */
interface JestGlobalConfig {
  rootDir: string;
  findRelatedTests?: boolean;
  onlyChanged?: boolean;
  testPathPattern?: string;
  testPathPatterns?: { isSet(): boolean; toExecutor(options: { rootDir: string }): { isMatch(path: string): boolean } };
}

/** A test-path filter matching jest's own selection, when jest gives one. */
function selectionFilter(config: JestGlobalConfig): ((path: string) => boolean) | undefined {
  if (config.findRelatedTests || config.onlyChanged) return undefined;
  if (config.testPathPatterns?.isSet()) {
    const executor = config.testPathPatterns.toExecutor({ rootDir: config.rootDir });
    return (path) => executor.isMatch(path);
  }
  if (config.testPathPattern) {
    const pattern = new RegExp(config.testPathPattern, 'i');
    return (path) => pattern.test(path);
  }
  return undefined;
}

/**
 * Starts the shared test services before any test file runs (see test-support/README.md): today
 * the S3 server, exported to the workers through process.env.
 */
export default async function globalSetup(globalConfig: JestGlobalConfig): Promise<void> {
  const running = await provideS3({ rootDir: globalConfig.rootDir, isSelected: selectionFilter(globalConfig) });
  if (running) (globalThis as GlobalState)[STATE] = running;
}
