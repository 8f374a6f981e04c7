/**
 * Counts every S3 request a driver sends, by command name (`GetObject`, `ListObjectsV2`, …): those
 * of its SDK client (a middleware) and those it sends on its own connections (`ctx.wire`).
 */
import type { S3Driver } from '@berth/driver-s3';

export type S3RequestCounts = Record<string, number>;

export function countS3Requests(driver: S3Driver, counts: S3RequestCounts): void {
  const tally = (name: string): void => void (counts[name] = (counts[name] ?? 0) + 1);
  driver.client.middlewareStack.add(
    (next, context) => async (args) => {
      tally(String(context.commandName).replace(/Command$/, ''));
      return next(args);
    },
    { step: 'finalizeRequest', name: 'berthCountRequests' },
  );
  driver.ctx.wire.observe(tally);
}

export const totalRequests = (counts: S3RequestCounts): number => Object.values(counts).reduce((n, v) => n + v, 0);

export const showRequests = (counts: S3RequestCounts): string =>
  Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
