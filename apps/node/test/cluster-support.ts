/**
 * Several real `proximadb serve` processes on one etcd and the same local roots, and a client that
 * writes through any node, follows 307 redirects (body included, as `fetch` does) and retries 503s —
 * keeping exactly what was acknowledged so a test can read every acknowledged record back.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type EtcdServer, startEtcd } from "@proximadb/testing/emulators/etcd";
import { configToml } from "./config-support.js";
import { type RunningNode, startNode, tempDir } from "./helpers.js";

export const DIM = 4;

/** Deterministic vector of a record (exact in float32). */
export function vectorOf(n: number): number[] {
  return Array.from({ length: DIM }, (_, i) => Math.fround(n + i / 4));
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The roots every node of a test cluster shares (two disks). */
export function sharedRoots(): Record<string, Record<string, unknown>> {
  return {
    "storage.wal_config": { wal_urls: ["file://disk1/wal", "file://disk2/wal"] },
    "storage.viper_config": { data_urls: ["file://disk1/viper", "file://disk2/viper"] },
    "storage.lsm_config": { data_urls: ["file://disk1/lsm"] },
    "storage.metadata_config": { metadata_urls: ["file://disk1/meta"] },
  };
}

/** A cluster of `serve` processes in one folder (one config file per node, same roots). */
export class TestCluster {
  readonly dir = tempDir("proximadb-cluster-");
  readonly nodes = new Map<string, RunningNode>();
  readonly etcd: EtcdServer;
  readonly leaseTtlMs: number;
  readonly #roots: Record<string, Record<string, unknown>>;

  private constructor(etcd: EtcdServer, leaseTtlMs: number, roots: Record<string, Record<string, unknown>>) {
    this.etcd = etcd;
    this.leaseTtlMs = leaseTtlMs;
    this.#roots = roots;
  }

  /** Starts etcd and the nodes; `roots` replaces {@link sharedRoots} (storage and backends tables). */
  static async start(
    names: readonly string[],
    o: { leaseTtlMs?: number; roots?: Record<string, Record<string, unknown>> } = {},
  ): Promise<TestCluster> {
    const c = new TestCluster(await startEtcd(), o.leaseTtlMs ?? 2000, o.roots ?? sharedRoots());
    for (const name of names) c.#write(name);
    try {
      // One at a time: nodes starting in the same instant on the same roots race on the deployment
      // markers (one gets "the marker … was rewritten concurrently; retry" and exits 2).
      for (const n of names) await c.startNode(n);
      await c.waitFor(() => c.members().then((m) => m.length === names.length), "every node registered");
    } catch (err) {
      await c.stop();
      throw err;
    }
    return c;
  }

  #write(name: string): void {
    writeFileSync(
      join(this.dir, `${name}.toml`),
      configToml({
        ...this.#roots,
        assignment_store: { type: "etcd", endpoints: [this.etcd.endpoint], cluster: "test" },
        server: { node_id: name },
        cluster: { lease_ttl_ms: this.leaseTtlMs },
        // Small: flushes (VIPER parts, LSM tables, WAL checkpoints) happen during the tests, across owners.
        engine: { background_interval_ms: 500, flush_threshold_bytes: 16_384 },
      }),
    );
  }

  /** Starts (or restarts) a node; resolves once it listens and joined the cluster. */
  async startNode(name: string): Promise<RunningNode> {
    const node = await startNode(this.dir, [
      "--config",
      join(this.dir, `${name}.toml`),
      "--log-format",
      "json",
    ]);
    this.nodes.set(name, node);
    await this.waitFor(async () => node.logs.some((l) => l.includes('"cluster joined"')), `${name} joined`);
    return node;
  }

  node(name: string): RunningNode {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  /** Running nodes (not killed, not stopped). */
  live(): RunningNode[] {
    return [...this.nodes.values()].filter((n) => n.child.exitCode === null && n.child.signalCode === null);
  }

  /** `GET /cluster` of any live node. */
  async members(): Promise<{ id: string; url: string; collections: number; leaseTtlMs: number }[]> {
    for (const n of this.live()) {
      try {
        const res = await fetch(`${n.url}/cluster`, { signal: AbortSignal.timeout(2000) });
        if (res.ok) return ((await res.json()) as { nodes: never[] }).nodes;
      } catch {
        // try the next one
      }
    }
    return [];
  }

  /** Owner of every collection, from `GET /collections` of one live node. */
  async owners(through?: RunningNode): Promise<Map<string, { owner: string | null; epoch: number | null }>> {
    const n = through ?? (this.live()[0] as RunningNode);
    const res = await fetch(`${n.url}/collections`);
    const body = (await res.json()) as {
      collections: { id: string; owner: string | null; epoch: number | null }[];
    };
    return new Map(body.collections.map((c) => [c.id, { owner: c.owner, epoch: c.epoch }]));
  }

  /** Polls `check` every 100 ms until it is true (bounded: 60 s). */
  async waitFor(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 60_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      if (await check()) return;
      await sleep(100);
    }
    throw new Error(`timed out waiting for: ${what}`);
  }

  /**
   * Every node's log lines that name one of `collections` (or are warnings and errors), for a failing
   * test to print: CI keeps no node logs.
   */
  logsAbout(collections: Iterable<string>): string[] {
    const names = [...collections].map((c) => `"${c}"`);
    const out: string[] = [];
    for (const [name, n] of this.nodes)
      for (const l of n.logs)
        if (names.some((c) => l.includes(c)) || /"level":(40|50|60)/.test(l)) out.push(`${name}: ${l}`);
    return out;
  }

  async stop(): Promise<void> {
    for (const n of this.live()) n.child.kill("SIGKILL");
    await Promise.allSettled([...this.nodes.values()].map((n) => n.exited));
    await this.etcd.stop();
  }
}

/** One answer the client got. */
export interface Answer {
  readonly status: number;
  // biome-ignore lint/suspicious/noExplicitAny: arbitrary JSON the tests compare
  readonly json: any;
  /** The URL that answered (after redirects). */
  readonly url: string;
}

/** One request; a network failure (a killed or paused node) is status 0. Redirects followed. */
export async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = 5000,
): Promise<Answer> {
  try {
    const res = await fetch(`${base}${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, json, url: res.url };
  } catch {
    return { status: 0, json: undefined, url: base };
  }
}

const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)] as T;

/**
 * Writers: `loops` concurrent loops, each putting one record at a time into a collection of `ids`
 * (round robin) through a random live node. An acknowledgement (200) is kept with the time it came.
 */
export class Writers {
  /** Acknowledged record ids per collection, and when the ack came. */
  readonly acked = new Map<string, { id: string; at: number; url: string }[]>();
  readonly statuses = new Map<number, number>();
  #running = true;
  #loops: Promise<void>[] = [];
  #n = 0;

  constructor(
    readonly cluster: TestCluster,
    readonly ids: readonly string[],
    loops = 6,
  ) {
    for (let l = 0; l < loops; l++) this.#loops.push(this.#loop(l, loops));
  }

  async #loop(l: number, loops: number): Promise<void> {
    let i = l;
    while (this.#running) {
      const collection = this.ids[i % this.ids.length] as string;
      i += loops;
      const live = this.cluster.live();
      if (live.length === 0) {
        await sleep(50);
        continue;
      }
      const n = this.#n++;
      const id = `r-${n}`;
      const a = await call(pick(live).url, "POST", `/collections/${collection}/records`, {
        records: [{ id, vector: vectorOf(n) }],
      });
      this.statuses.set(a.status, (this.statuses.get(a.status) ?? 0) + 1);
      if (a.status === 200) {
        const list = this.acked.get(collection) ?? [];
        list.push({ id, at: Date.now(), url: a.url });
        this.acked.set(collection, list);
      } else await sleep(20);
    }
  }

  /** How many records were acknowledged. */
  get count(): number {
    let n = 0;
    for (const l of this.acked.values()) n += l.length;
    return n;
  }

  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
  }
}

/** Reads every acknowledged record back through random live nodes; returns the ones not found. */
export async function missingAcked(cluster: TestCluster, acked: Writers["acked"]): Promise<string[]> {
  const missing: string[] = [];
  for (const [collection, records] of acked) {
    for (const r of records) {
      let a = await call(pick(cluster.live()).url, "GET", `/collections/${collection}/records/${r.id}`);
      for (let t = 0; t < 50 && a.status === 503; t++) {
        await sleep(100);
        a = await call(pick(cluster.live()).url, "GET", `/collections/${collection}/records/${r.id}`);
      }
      if (a.status !== 200) missing.push(`${collection}/${r.id} (${a.status})`);
    }
  }
  return missing;
}

/** Creates collections `c-0…` through random nodes (retrying 503s); returns their ids. */
export async function createCollections(cluster: TestCluster, count: number): Promise<string[]> {
  const ids = Array.from({ length: count }, (_, i) => `c-${i}`);
  for (const [i, id] of ids.entries()) {
    let a: Answer | undefined;
    for (let t = 0; t < 100 && (a === undefined || a.status === 503 || a.status === 0); t++) {
      if (a) await sleep(100);
      a = await call(pick(cluster.live()).url, "POST", "/collections", {
        id,
        dimension: DIM,
        engine: i % 3 === 2 ? "lsm" : "viper",
      });
    }
    if (a?.status !== 201) throw new Error(`create ${id}: ${a?.status} ${JSON.stringify(a?.json)}`);
  }
  return ids;
}
