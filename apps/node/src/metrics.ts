import type { AssignmentService, RootCapacity } from "@proximadb/core";
import { Counter, Gauge, Histogram, Registry } from "prom-client";

/**
 * The node's Prometheus metrics, in a registry of its own (no global state): assignments per root,
 * discovery duration per component, WAL sync latency, flush and compaction counts.
 */
export class NodeMetrics {
  readonly registry = new Registry();
  readonly discoverySeconds = new Gauge({
    name: "proximadb_discovery_duration_seconds",
    help: "Duration of the start-up discovery of each component",
    labelNames: ["component"] as const,
    registers: [this.registry],
  });
  readonly walSyncSeconds = new Histogram({
    name: "proximadb_wal_sync_seconds",
    help: "Time from a WAL append to its records being durable (group commit included)",
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly recordsWritten = new Counter({
    name: "proximadb_records_written_total",
    help: "Records (puts and deletes) acknowledged after the WAL made them durable",
    registers: [this.registry],
  });
  readonly flushes = new Counter({
    name: "proximadb_flushes_total",
    help: "Flushes of buffered records into an engine, then WAL checkpoint",
    labelNames: ["engine", "trigger"] as const,
    registers: [this.registry],
  });
  readonly compactions = new Counter({
    name: "proximadb_compactions_total",
    help: "Compactions run",
    labelNames: ["engine", "trigger"] as const,
    registers: [this.registry],
  });
  readonly failures = new Counter({
    name: "proximadb_background_failures_total",
    help: "Background flushes or compactions that failed (retried later)",
    labelNames: ["operation"] as const,
    registers: [this.registry],
  });

  /**
   * Adds the gauge of collections by state (`ready`, `degraded`, `unavailable`, `dropping`), read at
   * scrape time.
   */
  watchCollections(count: () => Readonly<Record<string, number>>): void {
    new Gauge({
      name: "proximadb_collections",
      help: "Collections by state: ready, degraded (background work failing), unavailable, dropping",
      labelNames: ["state"] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [state, n] of Object.entries(count())) this.set({ state }, n);
      },
    });
  }

  /**
   * Adds the per-root space gauges (`proximadb_root_used_bytes`, `_capacity_bytes`, `_fill_ratio`, and
   * `proximadb_root_nearfull` / `proximadb_root_full` as 0 or 1), read from the service at scrape time.
   */
  watchRootCapacity(service: AssignmentService): void {
    const labelNames = ["component", "root", "source"] as const;
    const gauge = (name: string, help: string, value: (c: RootCapacity) => number) =>
      new Gauge({
        name,
        help,
        labelNames,
        registers: [this.registry],
        collect() {
          this.reset();
          for (const c of service.stats())
            for (const r of c.roots)
              if (r.capacity)
                this.set(
                  { component: c.component, root: r.url, source: r.capacity.source },
                  value(r.capacity),
                );
        },
      });
    gauge("proximadb_root_used_bytes", "Bytes used on each measured storage root", (c) => c.usedBytes);
    gauge(
      "proximadb_root_capacity_bytes",
      "Size (statfs) or quota (capacity_bytes) of each root",
      (c) => c.totalBytes,
    );
    gauge("proximadb_root_fill_ratio", "used / capacity of each measured root", (c) => c.ratio);
    gauge("proximadb_root_nearfull", "1 when the root is at or above its nearfull_ratio", (c) =>
      c.state === "ok" ? 0 : 1,
    );
    gauge("proximadb_root_full", "1 when the root is at or above its full_ratio (no new collections)", (c) =>
      c.state === "full" ? 1 : 0,
    );
  }

  /** Adds the per-root assignment gauge, read from the service at scrape time. */
  watchAssignments(service: AssignmentService): void {
    new Gauge({
      name: "proximadb_assignments",
      help: "Collections assigned to each storage root",
      labelNames: ["component", "root", "index", "state"] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const c of service.stats())
          for (const r of c.roots)
            this.set(
              { component: c.component, root: r.url, index: String(r.index), state: r.state },
              r.collections,
            );
      },
    });
  }
}
