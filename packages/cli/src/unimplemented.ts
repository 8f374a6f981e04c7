import { ConfigError, type BerthConfig } from '@berth/config';

/**
 * Sections config.yml may set that this build of Berth validates but does not serve yet. Serving
 * as a plain registry where a pull-through cache was asked for would silently change what the
 * registry does: that refuses to start (`ConfigError`). The rest only
 * lose an extra and come back as warnings.
 */
export function checkUnimplemented(config: BerthConfig): string[] {
  if (config.proxy.remoteurl !== '') {
    throw new ConfigError('proxy.remoteurl', 'pull-through caching is not implemented by this version of Berth');
  }
  const warnings: string[] = [];
  return warnings;
}
