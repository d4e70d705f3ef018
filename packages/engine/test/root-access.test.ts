import { ROOT_MARKER_FILE, RootOfflineError } from "@proximadb/core";
import { describeOnBackends, rootsPerTest } from "@proximadb/testing-backends";
import { expect, it } from "vitest";
import type { EngineBase, RootAccess } from "../src/index.js";
import { openViperBase, writeData } from "./helpers.js";

/** A root access the test changes as it goes: the URLs it names may not be written. */
function access(): RootAccess & { refused: Map<string, string> } {
  const refused = new Map<string, string>();
  return { refused, refusal: (url) => refused.get(url) };
}

describeOnBackends("EngineBase with rootAccess", ["memory", "local"], (backend) => {
  const env = rootsPerTest<EngineBase>(backend, "disk", 2);
  const open = (rootAccess: RootAccess) => openViperBase(env, { rootAccess });

  it("never writes a root marker: the deployment layer owns them", async () => {
    const engine = await open(access());
    await writeData(engine, "alpha");
    const url = engine.locate("alpha")?.url as string;
    expect(await env.tier.keys(url)).not.toContain(ROOT_MARKER_FILE);
  });

  it("refuses to place a collection in a root it names (RootOfflineError with the root and why), writing nothing", async () => {
    const a = access();
    a.refused.set(env.tier.urls[0] as string, "empty: an unmounted disk?");
    const engine = await open(a);
    const before = await env.tier.snapshot();
    const err = await engine.place("alpha").catch((e) => e);
    expect(err).toBeInstanceOf(RootOfflineError);
    expect(err.url).toBe(env.tier.urls[0]);
    expect(err.message).toContain("an unmounted disk?");
    expect(await env.tier.snapshot()).toEqual(before);
  });

  it("refuses to stage once the root is named", async () => {
    const a = access();
    const engine = await open(a);
    await writeData(engine, "alpha");
    a.refused.set(engine.locate("alpha")?.url as string, "missing");
    await expect(engine.stage("alpha", "next.parquet")).rejects.toBeInstanceOf(RootOfflineError);
  });

  it("refuses to commit a staged file once its root is named: the final file never appears", async () => {
    const a = access();
    const engine = await open(a);
    const staged = await engine.stage("alpha", "part.parquet");
    await staged.fs.write(staged.key, "parquet bytes", { durable: true });
    a.refused.set(staged.url, "foreign (Deployment): another deployment's marker");
    await expect(engine.commit(staged, "vectors/part-00000001.parquet")).rejects.toBeInstanceOf(
      RootOfflineError,
    );
    expect(await env.tier.keys(staged.url, "alpha/vectors/")).toEqual([]);
  });

  it("refuses to drop a collection whose root is named, deleting nothing", async () => {
    const a = access();
    const engine = await open(a);
    const key = await writeData(engine, "alpha");
    const url = engine.locate("alpha")?.url as string;
    a.refused.set(url, "unreachable");
    await expect(engine.drop("alpha")).rejects.toBeInstanceOf(RootOfflineError);
    expect(await env.tier.keys(url, "alpha/")).toContain(key);
    expect(engine.locate("alpha")?.url).toBe(url);
  });

  it("writes again once the root is no longer named", async () => {
    const a = access();
    const engine = await open(a);
    await writeData(engine, "alpha");
    const url = engine.locate("alpha")?.url as string;
    a.refused.set(url, "missing");
    await expect(engine.place("alpha")).rejects.toBeInstanceOf(RootOfflineError);
    a.refused.delete(url);
    expect((await engine.place("alpha")).url).toBe(url);
  });
});
