import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** `proximadb_moves_*`: moves started and finished, bytes copied, moves running, durations. */
export class MoveMetrics {
  readonly started: Counter<"component">;
  readonly finished: Counter<"component" | "state">;
  readonly bytes: Counter<"component">;
  readonly seconds: Histogram<"component">;

  constructor(registry: Registry, running: () => number) {
    const registers = [registry];
    const counter = <L extends string>(name: string, help: string, labelNames: L[]) =>
      new Counter<L>({ name: `proximadb_moves_${name}`, help, labelNames, registers });
    this.started = counter("started_total", "Moves of a collection's component to another root, started", [
      "component",
    ]);
    this.finished = counter("finished_total", "Moves finished, by outcome (done, failed)", [
      "component",
      "state",
    ]);
    this.bytes = counter("bytes_total", "Bytes copied by moves (every pass, verified)", ["component"]);
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
