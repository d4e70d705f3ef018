/** Shared by the EngineBase suites: an engine of the `viper` component on the test's roots. */
import { AssignmentService } from "@proximadb/core";
import type { PerTestRoots } from "@proximadb/testing-backends";
import { EngineBase, type EngineBaseOptions } from "../src/index.js";

/** One hour in milliseconds: staging older than this is stale (the default `staleStagingMs`). */
export const HOUR = 60 * 60 * 1000;

/**
 * Opens an EngineBase of the `viper` component over the current test's roots (as `node-a`, unless
 * `extra` says otherwise); it is closed after the test.
 */
export async function openViperBase(
  env: PerTestRoots<EngineBase>,
  extra: Partial<EngineBaseOptions> = {},
): Promise<EngineBase> {
  const service = new AssignmentService({ components: { viper: { roots: env.tier.urls } } });
  const engine = await EngineBase.open({
    component: "viper",
    service,
    openFileSystem: (r) => env.tier.openFileSystem(r),
    nodeId: "node-a",
    ...extra,
  });
  env.opened.push(engine);
  return engine;
}

/** Stages a data file of collection `id`, writes it durably, and commits it as `name`. */
export async function writeData(
  engine: EngineBase,
  id: string,
  name = "vectors/part-00000001.parquet",
): Promise<string> {
  const staged = await engine.stage(id, "part.parquet");
  await staged.fs.write(staged.key, "parquet bytes", { durable: true });
  return engine.commit(staged, name);
}
