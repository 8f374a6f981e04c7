import { ConfigError, type BerthConfig } from '@berth/config';

/**
 * Sections config.yml may set that this build of Berth validates but does not serve yet. Serving
 * as a plain registry where a pull-through cache was asked for would silently change what the
 * registry does: that refuses to start (`ConfigError`). The rest only
 * lose an extra (events, health checks, the debug server) and come back as warnings.
 */
export function checkUnimplemented(config: BerthConfig): string[] {
  if (config.proxy.remoteurl !== '') {
    throw new ConfigError('proxy.remoteurl', 'pull-through caching is not implemented by this version of Berth');
  }
  const warnings: string[] = [];
  if (config.notifications.endpoints.some((e) => !e.disabled)) {
    warnings.push('notifications.endpoints: event notifications are not implemented by this version of Berth; no events are sent');
  }
  if (config.health.storagedriver.enabled) {
    warnings.push('health.storagedriver: health checks are not implemented by this version of Berth; ignored');
  }
  if (config.http.debug.addr !== '') {
    warnings.push('http.debug.addr: the debug server is not implemented by this version of Berth; nothing listens there');
  }
  return warnings;
}
