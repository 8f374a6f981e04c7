import { loadConfig } from '@berth/config';
import type { Logger } from '@berth/storage-driver';
import { createDriverFactories, startRegistry, type RunningRegistry } from '@berth/cli';

/** One log line as a `recordingLogger` kept it, with the fields of its child chain merged in. */
export interface LogLine {
  readonly level: string;
  readonly message: string;
  readonly fields: Record<string, unknown>;
}

/** A logger that keeps every line (tests read them instead of parsing output). */
export function recordingLogger(lines: LogLine[] = [], bound: Record<string, unknown> = {}): Logger & { lines: LogLine[] } {
  const at =
    (level: string) =>
    (message: string, meta: Record<string, unknown> = {}): void =>
      void lines.push({ level, message, fields: { ...bound, ...meta } });
  return {
    lines,
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    child: (fields: Record<string, unknown>) => recordingLogger(lines, { ...bound, ...fields }),
  } as unknown as Logger & { lines: LogLine[] };
}

export interface InProcessRegistry extends RunningRegistry {
  readonly url: string;
  /** `http://<debug address>`; throws when the config has no debug server. */
  readonly debugUrl: string;
  readonly logger: Logger & { lines: LogLine[] };
}

/**
 * Loads `config` (an object written as YAML) like `berth serve` does, with no `REGISTRY_*`
 * variables, and starts the registry in this process (the sources, no build needed): real
 * servers on loopback.
 */
export async function startInProcess(config: Record<string, unknown>): Promise<InProcessRegistry> {
  const drivers = createDriverFactories();
  // One process unless the test asks for more: helper processes run the built command (dist).
  const http = { workers: 1, ...(config.http as Record<string, unknown> | undefined) };
  const loaded = loadConfig({ yamlText: JSON.stringify({ ...config, http }), env: {}, drivers });
  const logger = recordingLogger();
  const running = await startRegistry(loaded, drivers, logger);
  return {
    ...running,
    logger,
    url: `http://${running.address}`,
    get debugUrl(): string {
      if (!running.debugAddress) throw new Error('no debug server in this configuration');
      return `http://${running.debugAddress}`;
    },
  };
}

/** One sample of the Prometheus text format. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Parses the Prometheus text exposition format (the subset prom-client writes). */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The sum of the samples named `name` whose labels include `labels`; undefined when none matches. */
export function metricValue(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const matching = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return matching.length === 0 ? undefined : matching.reduce((sum, s) => sum + s.value, 0);
}

/** Polls `condition` every 25 ms until it holds; fails after `timeoutMs` with `what`. */
export async function eventually(what: string, condition: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
