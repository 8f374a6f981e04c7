import { createLogger } from '@berth/logging';
import { formatRetentionReport, Registry } from '@berth/registry';
import { attributeToSource, loadEffectiveConfig } from './load';
import { policyRules } from './stack';

/** The options of `berth retention`. */
export interface RetentionFlags {
  readonly dryRun?: boolean;
}

/**
 * `berth retention [--dry-run] [config]`: applies the retention of `policies` now, over the
 * configured storage (configuration resolved like `serve`; the registry may be serving meanwhile).
 * stdout gets, per repository, each tag kept or deleted with the reason, the manifests deleted, and
 * a summary line; the space is returned by the next garbage collection. Resolves with the exit
 * code: 0 on success, 1 when some deletions failed.
 */
export async function runRetention(argument: string | undefined, flags: RetentionFlags, env: NodeJS.ProcessEnv): Promise<number> {
  const { config, source, drivers } = loadEffectiveConfig(argument, env);
  const logger = createLogger({ level: config.log.level, formatter: config.log.formatter, fields: config.log.fields });
  for (const warning of config.warnings) if (/\b(storage|policies)\b/.test(warning)) logger.warn(warning);
  const driver = await drivers
    .create(config.storage.driver, config.storage.parameters, {
      logger: logger.child({ component: 'storage', driver: config.storage.driver }),
    })
    .catch((error: unknown) => {
      throw attributeToSource(source, error);
    });
  try {
    const registry = new Registry({
      driver,
      logger: logger.child({ component: 'retention' }),
      deleteEnabled: config.storage.delete.enabled,
      readOnly: config.storage.maintenance.readonly.enabled,
      pullThrough: config.proxy.remoteurl !== '',
      tagConcurrencyLimit: config.storage.tag.concurrencylimit,
      policies: policyRules(config),
    });
    const report = await registry.retention({ dryRun: flags.dryRun ?? false });
    // Written out before the command exits (process.exit would cut a long report short on a pipe).
    await new Promise<void>((resolve, reject) => process.stdout.write(formatRetentionReport(report), (error) => (error ? reject(error) : resolve())));
    return report.errors > 0 ? 1 : 0;
  } finally {
    await driver.close?.();
  }
}
