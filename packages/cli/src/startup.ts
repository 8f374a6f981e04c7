import type { BerthConfig } from '@berth/config';
import { readParameters as readFilesystemParameters } from '@berth/driver-filesystem';
import { parseS3Parameters } from '@berth/driver-s3';
import type { ConfigSource } from './default-config';
import { describeSource } from './load';
import { berthVersion } from './version';

/** Where the storage driver keeps the content: the filesystem's root, the S3 bucket (and prefix), or memory. */
export function describeStorage(config: BerthConfig): { readonly text: string; readonly fields: Record<string, string> } {
  const { driver, parameters } = config.storage;
  try {
    if (driver === 'filesystem') {
      const root = readFilesystemParameters(parameters).rootDirectory;
      return { text: `filesystem storage at ${root}`, fields: { rootdirectory: root } };
    }
    if (driver === 's3') {
      const s3 = parseS3Parameters(parameters);
      const where = `bucket ${s3.bucket}${s3.rootDirectory ? ` under /${s3.rootDirectory}` : ''}${s3.endpoint ? ` at ${s3.endpoint}` : ` in ${s3.region}`}`;
      return { text: `s3 storage in ${where}`, fields: { bucket: s3.bucket, ...(s3.rootDirectory ? { rootdirectory: `/${s3.rootDirectory}` } : {}) } };
    }
  } catch {
    // The driver was created from these parameters already; a description is not worth a failure.
  }
  return { text: `${driver} storage`, fields: {} };
}

/**
 * The line `serve` logs once it accepts connections, for a person and for a log pipeline alike:
 * "berth 0.1.0 listening on 127.0.0.1:5000 with 2 processes, filesystem storage at /var/lib/registry,
 * configuration /etc/berth.yml", and the same facts as fields.
 */
export function startupLine(config: BerthConfig, source: ConfigSource, address: string): { readonly message: string; readonly fields: Record<string, unknown> } {
  const version = berthVersion();
  const storage = describeStorage(config);
  const processes = config.http.workers;
  const configuration =
    source.kind === 'default'
      ? 'built-in default configuration'
      : source.origin === 'system'
        ? `configuration ${source.path} (no file named and REGISTRY_CONFIGURATION_PATH unset, so the system location is used)`
        : `configuration ${source.path}`;
  return {
    message: `berth ${version} listening on ${address} with ${processes} process${processes === 1 ? '' : 'es'}, ${storage.text}, ${configuration}`,
    fields: { version, config: describeSource(source), driver: config.storage.driver, ...storage.fields, workers: processes },
  };
}
