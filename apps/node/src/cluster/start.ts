import type { Logger } from "pino";
import type { NodeConfig } from "../config.js";
import type { StorageNode } from "../node.js";
import { openRoots } from "../startup.js";
import { advertisedUrl } from "./config.js";
import { NodeCluster } from "./node-cluster.js";
import { WriterLock } from "./writer-lock.js";

/**
 * With `[assignment_store] type = "etcd"`: joins the cluster once the node listens (so peers can be sent
 * here): one etcd connection for the membership (the node key on a lease of `[cluster] lease_ttl_ms`, URL
 * `[cluster] advertise_url` or the listening address) and the ownership; attaches it to the node and
 * starts it. Returns undefined for the memory store (one node). etcd credentials come from
 * `ETCD_USERNAME` / `ETCD_PASSWORD`, as for the assignment store.
 */
export async function startCluster(
  node: StorageNode,
  o: { config: NodeConfig; logger: Logger; listening: string; env?: NodeJS.ProcessEnv },
): Promise<NodeCluster | undefined> {
  const s = o.config.assignmentStore;
  if (s.type !== "etcd") return undefined;
  const env = o.env ?? process.env;
  const { Membership, Ownership, connectEtcd } = await import("@proximadb/store-etcd");
  const client = connectEtcd({
    hosts: s.endpoints,
    ...(env.ETCD_USERNAME && env.ETCD_PASSWORD
      ? { auth: { username: env.ETCD_USERNAME, password: env.ETCD_PASSWORD } }
      : {}),
  });
  const membership = new Membership({
    client,
    cluster: s.cluster,
    prefix: s.prefix,
    nodeId: o.config.server.nodeId,
    url: advertisedUrl(o.config.cluster, o.listening),
    leaseTtlMs: o.config.cluster.leaseTtlMs,
  });
  const ownership = new Ownership({ membership });
  const cluster = new NodeCluster({
    node,
    membership,
    ownership,
    logger: o.logger,
    close: () => client.close(),
  });
  node.cluster = cluster;
  try {
    await cluster.start();
  } catch (err) {
    await cluster.close().catch(() => undefined);
    throw err;
  }
  return cluster;
}

/** What {@link checkSingleWriter} returns: hold the lock once the node is open, release it at the end. */
export interface SingleWriter {
  hold(node: StorageNode): Promise<void>;
  release(): Promise<void>;
}

/**
 * With `[assignment_store] type = "memory"` (one node): refuses to start when another node serves the
 * same roots (see {@link WriterLock}); checked before the node opens. Undefined with etcd.
 * @throws LiveWriterError naming the other node
 */
export async function checkSingleWriter(
  config: NodeConfig,
  logger: Logger,
  env?: NodeJS.ProcessEnv,
): Promise<SingleWriter | undefined> {
  if (config.assignmentStore.type !== "memory") return undefined;
  const roots = await openRoots(config, env);
  let lock: WriterLock;
  try {
    lock = await WriterLock.check([...roots.byUrl.values()], { nodeId: config.server.nodeId, logger });
  } catch (err) {
    await roots.close();
    throw err;
  }
  return {
    hold: (node) => lock.hold((url) => node.health.refusal(url) === undefined),
    release: async () => {
      await lock.release();
      await roots.close();
    },
  };
}
