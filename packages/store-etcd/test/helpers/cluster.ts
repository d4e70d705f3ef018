import type { Etcd3 } from "etcd3";
import {
  type AcquisitionKind,
  type LossReason,
  Membership,
  type MembershipOptions,
  Ownership,
  type OwnershipOptions,
  connectEtcd,
} from "../../src/index.js";

let seq = 0;
/** A cluster name of its own for each test. */
export const newCluster = (tag = "o") => `${tag}${process.pid}-${Date.now()}-${seq++}`;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `read` until `ok` holds or `deadlineMs` passes; returns the last value read. */
export async function eventually<T>(
  read: () => T | Promise<T>,
  ok: (v: T) => boolean,
  deadlineMs = 15_000,
): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = await read();
    if (ok(v) || Date.now() > end) return v;
    await sleep(10);
  }
}

/** A client with quick failure (small retries and deadlines), as the tests want. */
export function client(endpoint: string): Etcd3 {
  return connectEtcd({
    hosts: endpoint,
    dialTimeoutMs: 1000,
    callTimeoutMs: 1000,
    retry: { attempts: 3, baseDelayMs: 20, maxDelayMs: 100 },
  });
}

export interface EventLog {
  acquired: Array<{ collection: string; epoch: number; how: AcquisitionKind }>;
  lost: Array<{ collection: string; epoch: number; reason: LossReason }>;
  leaseLost: string[];
  leaseRestored: boolean[];
}

/** One in-process node: its own client, membership and ownership, with every event recorded. */
export interface TestNode {
  readonly id: string;
  readonly client: Etcd3;
  readonly membership: Membership;
  readonly ownership: Ownership;
  readonly events: EventLog;
  /** Stops keepalives without revoking (what kill -9 looks like to etcd) and closes the client. */
  crash(): Promise<void>;
  /** Graceful: closes ownership, revokes the lease, closes the client. */
  stop(): Promise<void>;
}

const live = new Set<TestNode>();

export async function startNode(
  endpoint: string,
  cluster: string,
  id: string,
  options: Partial<MembershipOptions> &
    Partial<Omit<OwnershipOptions, "membership">> & { start?: boolean } = {},
): Promise<TestNode> {
  const etcd = client(endpoint);
  const membership = new Membership({
    client: etcd,
    cluster,
    nodeId: id,
    url: `http://127.0.0.1:${7000 + (seq++ % 1000)}`,
    leaseTtlMs: 2000,
    ...options,
  });
  const ownership = new Ownership({
    membership,
    ...(options.takeoverFallbackMs !== undefined ? { takeoverFallbackMs: options.takeoverFallbackMs } : {}),
  });
  const events: EventLog = { acquired: [], lost: [], leaseLost: [], leaseRestored: [] };
  ownership.on("acquired", (e) => events.acquired.push(e));
  ownership.on("lost", (e) => events.lost.push(e));
  membership.on("leaseLost", (e) => events.leaseLost.push(e.reason));
  membership.on("leaseRestored", (e) => events.leaseRestored.push(e.sameLease));
  let closed = false;
  const close = async (revoke: boolean) => {
    if (closed) return;
    closed = true;
    live.delete(node);
    await ownership.close();
    await membership.close(revoke ? undefined : { revoke: false });
    etcd.close();
  };
  const node: TestNode = {
    id,
    client: etcd,
    membership,
    ownership,
    events,
    crash: () => close(false),
    stop: () => close(true),
  };
  live.add(node);
  if (options.start !== false) await ownership.start();
  return node;
}

/** Stops every node a test started and left running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((n) => n.stop()));
}
