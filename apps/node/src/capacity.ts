import { statfs } from "node:fs/promises";
import { dirname } from "node:path";
import {
  type AssignmentService,
  type ComponentType,
  type FileSystem,
  type RootCapacity,
  type StorageRoot,
  measureCapacity,
} from "@proximadb/core";
import type { Logger } from "pino";
import type { NodeConfig } from "./config.js";
import { describe } from "./errors.js";
import type { RootOptions } from "./root-config.js";
import { fileSystemOpener } from "./storage.js";

/**
 * Space of a local folder's device (`statfs`; a missing folder is measured at its nearest existing
 * parent, where it will be created), as `df` reports it.
 */
export async function measureLocal(path: string): Promise<{ usedBytes: number; totalBytes: number }> {
  let at = path;
  for (;;) {
    try {
      const s = await statfs(at);
      // As `df` counts: used blocks against used + available to this user (root's reserve left out), so
      // the ratio reaches 1 exactly when a write would fail with ENOSPC.
      const used = (s.blocks - s.bfree) * s.bsize;
      return { usedBytes: used, totalBytes: used + s.bavail * s.bsize };
    } catch (err) {
      const parent = dirname(at);
      if ((err as NodeJS.ErrnoException).code !== "ENOENT" || parent === at) throw err;
      at = parent;
    }
  }
}

/** Bytes under a root, by listing it (quota roots: what the node measured). */
export async function measureListed(fs: FileSystem): Promise<number> {
  let bytes = 0;
  for await (const page of fs.list("")) for (const f of page.files) bytes += f.size;
  return bytes;
}

interface Watched {
  readonly component: ComponentType;
  readonly options: RootOptions;
  readonly root: StorageRoot;
}

/**
 * Measures every root's space and tells the assignment service (a `full` root gets no new collections):
 * roots with `capacity_bytes` are measured against that quota (bytes listed under the root), other local
 * roots with `statfs`; object-store roots without a quota are not measured. A root that turns nearfull or
 * full is logged once as a warning (and again when it changes); a root that cannot be measured keeps its
 * last figures.
 */
export class CapacityMonitor {
  readonly #service: AssignmentService;
  readonly #log: Logger;
  readonly #watched: Watched[] = [];
  readonly #open: (root: StorageRoot) => FileSystem;
  readonly #fs = new Map<string, FileSystem>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(o: {
    config: NodeConfig;
    service: AssignmentService;
    logger: Logger;
    open: (root: StorageRoot) => FileSystem;
  }) {
    this.#service = o.service;
    this.#log = o.logger;
    this.#open = o.open;
    for (const [component, c] of Object.entries(o.config.components)) {
      if (!c) continue;
      c.roots.forEach((root, i) => {
        const options = c.rootOptions[i] as RootOptions;
        if (options.capacityBytes === undefined && root.scheme !== "file") return;
        this.#watched.push({ component: component as ComponentType, options, root });
      });
    }
  }

  /** Measures every watched root once (concurrent calls share one run). */
  check(): Promise<void> {
    this.#running ??= this.#checkAll().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** Measures every `intervalMs` (0: never) until {@link stop}. */
  start(intervalMs: number): void {
    if (intervalMs <= 0 || this.#timer) return;
    this.#timer = setInterval(() => void this.check(), intervalMs);
    this.#timer.unref();
  }

  /** Stops measuring and closes the file systems it opened. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running?.catch(() => undefined);
    await Promise.allSettled([...this.#fs.values()].map((fs) => fs.close()));
    this.#fs.clear();
  }

  async #checkAll(): Promise<void> {
    await Promise.all(this.#watched.map((w) => this.#checkOne(w)));
  }

  async #checkOne(w: Watched): Promise<void> {
    const { component, options } = w;
    const ratios = { nearfullRatio: options.nearfullRatio, fullRatio: options.fullRatio };
    let capacity: RootCapacity;
    try {
      if (options.capacityBytes !== undefined) {
        let fs = this.#fs.get(options.url);
        if (!fs) {
          fs = this.#open(w.root);
          this.#fs.set(options.url, fs);
        }
        const listed = await measureListed(fs);
        capacity = measureCapacity(listed, options.capacityBytes, "quota", ratios);
        // The root's own bytes: what LeastUsed compares.
        this.#service.setRootUsage(component, options.url, listed);
      } else {
        const { usedBytes, totalBytes } = await measureLocal(w.root.path as string);
        capacity = measureCapacity(usedBytes, totalBytes, "statfs", ratios);
      }
    } catch (err) {
      this.#log.debug({ component, root: options.url, err: describe(err) }, "root space not measured");
      return;
    }
    const before = this.#service.stats().find((c) => c.component === component);
    const was = before?.roots.find((r) => r.url === options.url)?.capacity?.state;
    this.#service.setRootCapacity(component, options.url, capacity);
    if (capacity.state !== "ok" && capacity.state !== was) {
      this.#log.warn(
        {
          component,
          root: options.url,
          state: capacity.state,
          usedBytes: capacity.usedBytes,
          totalBytes: capacity.totalBytes,
          ratio: Number(capacity.ratio.toFixed(4)),
          threshold: capacity.state === "full" ? capacity.fullRatio : capacity.nearfullRatio,
        },
        capacity.state === "full"
          ? "storage root full: no new collections are placed on it"
          : "storage root nearly full",
      );
    } else if (capacity.state === "ok" && was !== undefined && was !== "ok") {
      this.#log.info({ component, root: options.url }, "storage root has space again");
    }
  }
}

/** A monitor over the node's configured roots, measured once before it returns, then every interval. */
export async function startCapacity(
  config: NodeConfig,
  service: AssignmentService,
  logger: Logger,
): Promise<CapacityMonitor> {
  const open = await fileSystemOpener(config);
  const monitor = new CapacityMonitor({ config, service, logger, open });
  await monitor.check();
  monitor.start(config.placement.checkIntervalMs);
  return monitor;
}
