import { AssignmentService } from "@proximadb/core";
import type { RootSet } from "@proximadb/testing-backends";
import { LsmEngine, type LsmEngineOptions } from "../src/index.js";

/** Roots an engine can open: a RootSet, or a hand-made pair (background.test's ControlledFs). */
export type EngineRoots = Pick<RootSet, "urls" | "openFileSystem">;

/** Opens an LSM engine over the roots with a fresh assignment service (a node start). */
export function openEngine(roots: EngineRoots, extra: Partial<LsmEngineOptions> = {}): Promise<LsmEngine> {
  const service = new AssignmentService({ components: { lsm: { roots: roots.urls } } });
  return LsmEngine.open({
    service,
    openFileSystem: (r) => roots.openFileSystem(r),
    nodeId: "node-a",
    staleStagingMs: 0,
    ...extra,
  });
}

const dec = new TextDecoder();
/** UTF-8 text of bytes (or undefined). */
export const text = (b: Uint8Array | undefined): string | undefined =>
  b === undefined ? undefined : dec.decode(b);

/** Collects a scan as `[key, value]` text pairs. */
export async function scanText(
  engine: LsmEngine,
  id: string,
  range: Parameters<LsmEngine["scan"]>[1] = {},
): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for await (const e of engine.scan(id, range)) out.push([dec.decode(e.key), dec.decode(e.value)]);
  return out;
}
