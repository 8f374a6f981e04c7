import { startNginx, type RunningNginx } from '../../../../test-support/nginx';
import { startBerth, testConfig, type RunningBerth } from './berth';
import { freePort } from './processes';

/**
 * Berth scaled out as docs/scale-out.md describes it: several `berth serve` processes on their own
 * loopback ports, one storage (one S3 bucket root), one pinned `http.secret`, optionally one Redis,
 * behind nginx round-robin. Each replica keeps its port across a restart, so nginx's upstream list
 * stays true after a replica was killed and started again.
 */

export const REPLICA_SECRET = 'scale-out-secret-shared-by-every-replica';
/** Generous: three processes start at once on a busy machine. */
const STARTUP_TIMEOUT_MS = 180_000;

export interface ReplicaSetOptions {
  readonly count: number;
  /** The `storage` section shared by every replica (`delete.enabled` is added). */
  readonly storage: Record<string, unknown>;
  /** Top-level sections merged into every replica's config (e.g. `redis`). */
  readonly extra?: Record<string, unknown>;
}

export interface ReplicaSet {
  /** The replicas in start order; `replicas[i]` is replaced by `restart(i)`. */
  readonly replicas: RunningBerth[];
  readonly nginx: RunningNginx;
  /** The config every replica runs (also what `berth garbage-collect` needs). */
  readonly config: Record<string, unknown>;
  /** Starts replica `i` again on its port (after it was stopped or killed). */
  restart(i: number): Promise<RunningBerth>;
  stop(): Promise<void>;
}

export async function startReplicaSet(options: ReplicaSetOptions): Promise<ReplicaSet> {
  const storage = { ...options.storage, delete: { enabled: true } };
  // One process per replica (http.workers: 1): the replicas are the processes under test, and the
  // machine running the tests is small and shared.
  const config = { ...testConfig(storage, { secret: REPLICA_SECRET, workers: 1 }), ...options.extra };
  const ports: number[] = [];
  for (let i = 0; i < options.count; i++) ports.push(await freePort());
  const configFor = (i: number): Record<string, unknown> => ({
    ...config,
    http: { ...(config.http as Record<string, unknown>), addr: `127.0.0.1:${ports[i]}` },
  });
  const replicas = await Promise.all(ports.map((_, i) => startBerth(configFor(i), { timeoutMs: STARTUP_TIMEOUT_MS })));
  let nginx: RunningNginx;
  try {
    nginx = await startNginx(replicas.map((r) => r.hostPort));
  } catch (error) {
    await Promise.all(replicas.map((r) => r.stop()));
    throw error;
  }
  return {
    replicas,
    nginx,
    config,
    async restart(i) {
      replicas[i] = await startBerth(configFor(i), { timeoutMs: STARTUP_TIMEOUT_MS });
      return replicas[i]!;
    },
    async stop() {
      await nginx.stop();
      await Promise.all(replicas.map((r) => r.stop()));
    },
  };
}
