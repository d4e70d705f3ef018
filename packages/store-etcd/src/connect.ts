import { ExponentialBackoff, handleWhen, noop, retry } from "cockatiel";
import { Etcd3, type IOptions, isRecoverableError } from "etcd3";
import type { EtcdConnectionOptions } from "./etcd-assignment-store.js";

/** How to reach etcd: the connection part of {@link EtcdConnectionOptions}. */
export type EtcdConnection = Omit<EtcdConnectionOptions, "cluster" | "prefix" | "batchSize">;

/**
 * Builds an etcd client with the same fault handling as {@link EtcdAssignmentStore}: bounded
 * retries with exponential backoff for unary calls (each with a deadline), no circuit breaker (a
 * restarted etcd is used at once), no deadline on streams (watches, lease keepalives). One client
 * can be shared by the assignment store, {@link Membership} and {@link Ownership}; the caller closes it.
 *
 * @example
 * const client = connectEtcd({ hosts: "http://127.0.0.1:2379" });
 * const store = new EtcdAssignmentStore({ client, cluster: "prod" });
 * const membership = new Membership({ client, cluster: "prod", nodeId: "n1", url: "http://10.0.0.1:7700" });
 */
export function connectEtcd(options: EtcdConnection): Etcd3 {
  const callTimeout = options.callTimeoutMs ?? 5000;
  const attempts = Math.max(1, options.retry?.attempts ?? 5);
  const initialDelay = options.retry?.baseDelayMs ?? 50;
  const maxDelay = options.retry?.maxDelayMs ?? 1000;
  return new Etcd3({
    hosts: options.hosts,
    ...(options.credentials
      ? { credentials: options.credentials as NonNullable<IOptions["credentials"]> }
      : {}),
    ...(options.auth ? { auth: { username: options.auth.username, password: options.auth.password } } : {}),
    dialTimeout: options.dialTimeoutMs ?? 5000,
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + callTimeout }),
    faultHandling: {
      host: () => noop,
      global: retry(handleWhen(isRecoverableError), {
        maxAttempts: attempts - 1,
        backoff: new ExponentialBackoff({ initialDelay, maxDelay }),
      }),
      watchBackoff: new ExponentialBackoff({ initialDelay, maxDelay }).next(),
    },
  });
}
