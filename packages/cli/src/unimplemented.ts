import type { BerthConfig } from '@berth/config';

/**
 * Sections config.yml may set that this build of Berth validates but does not serve yet: a section
 * whose absence would silently change what the registry does refuses to start (`ConfigError`); the
 * rest only lose an extra and come back as warnings. Every section is served today.
 */
export function checkUnimplemented(_config: BerthConfig): string[] {
  const warnings: string[] = [];
  return warnings;
}
