import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { eventually } from "./cluster.js";

const script = fileURLToPath(new URL("../fixtures/owner-node.ts", import.meta.url));

// biome-ignore lint/suspicious/noExplicitAny: JSON lines from the child
export type ChildEvent = Record<string, any>;

/** A node in a child process (test/fixtures/owner-node.ts). */
export interface ChildNode {
  readonly id: string;
  readonly process: ChildProcess;
  /** Every JSON line the child printed, in order. */
  readonly events: ChildEvent[];
  /** Sends a command and resolves with its reply (`{ result }` or `{ error }`). */
  request(command: ChildEvent): Promise<ChildEvent>;
  /** Resolves with the first event (from index `from`) that matches. */
  waitFor(match: (e: ChildEvent) => boolean, from?: number, deadlineMs?: number): Promise<ChildEvent>;
  signal(signal: NodeJS.Signals): void;
  /** Asks the child to close gracefully, or kills it when it does not answer. */
  stop(): Promise<void>;
}

let requestSeq = 0;

export async function spawnNode(
  endpoint: string,
  cluster: string,
  id: string,
  leaseTtlMs: number,
): Promise<ChildNode> {
  const child = spawn(
    process.execPath,
    ["--conditions=@proximadb/source", "--import", "tsx", script, endpoint, cluster, id, String(leaseTtlMs)],
    { stdio: ["pipe", "pipe", "pipe"] },
  );
  const events: ChildEvent[] = [];
  let buffer = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    buffer += chunk.toString();
    for (let i = buffer.indexOf("\n"); i >= 0; i = buffer.indexOf("\n")) {
      events.push(JSON.parse(buffer.slice(0, i)));
      buffer = buffer.slice(i + 1);
    }
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const waitFor = async (match: (e: ChildEvent) => boolean, from = 0, deadlineMs = 30_000) => {
    const found = await eventually(
      () => events.slice(from).find(match) ?? (child.exitCode !== null ? null : undefined),
      (e) => e !== undefined,
      deadlineMs,
    );
    if (!found) throw new Error(`child ${id}: no matching event (exit ${child.exitCode})\n${stderr}`);
    return found;
  };
  const node: ChildNode = {
    id,
    process: child,
    events,
    async request(command) {
      const rid = ++requestSeq;
      const from = events.length;
      child.stdin?.write(`${JSON.stringify({ ...command, id: rid })}\n`);
      return waitFor((e) => e.ev === "reply" && e.id === rid, from);
    },
    waitFor,
    signal(signal) {
      child.kill(signal);
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGCONT");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      node.request({ cmd: "exit" }).catch(() => undefined);
      await exited;
      clearTimeout(timer);
    },
  };
  await waitFor((e) => e.ev === "ready");
  return node;
}
