import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** `proximadb_moves_*`: moves started and finished, bytes copied, moves running, durations. */
export class MoveMetrics {
  readonly started: Counter<"component">;
  readonly finished: Counter<"component" | "state">;
  readonly bytes: Counter<"component">;
  readonly seconds: Histogram<"component">;

  constructor(registry: Registry, running: () => number) {
    const registers = [registry];
    this.started = new Counter({
      name: "proximadb_moves_started_total",
      help: "Moves of a collection's component to another root, started",
      labelNames: ["component"],
      registers,
    });
    this.finished = new Counter({
      name: "proximadb_moves_finished_total",
      help: "Moves finished, by outcome (done, failed)",
      labelNames: ["component", "state"],
      registers,
    });
    this.bytes = new Counter({
      name: "proximadb_moves_bytes_total",
      help: "Bytes copied by moves (every pass, verified)",
      labelNames: ["component"],
      registers,
    });
    this.seconds = new Histogram({
      name: "proximadb_moves_duration_seconds",
      help: "Duration of moves from their start to done or failed",
      labelNames: ["component"],
      buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 1800, 7200],
      registers,
    });
    new Gauge({
      name: "proximadb_moves_running",
      help: "Moves copying or switching over now",
      registers,
      collect() {
        this.set(running());
      },
    });
  }
}
