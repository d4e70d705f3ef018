/**
 * Search input and the `[storage.index_config]` keys (in process, local roots): bad queries are 400, an
 * unknown collection 404, and nothing else answers for them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, parseConfigText } from "../src/config.js";
import { embeddedDefaultToml } from "../src/default-config.js";
import { type InProcessNode, openInProcess } from "./in-process.js";

const base = { baseDir: "/etc/proximadb", source: "test.toml" };
const withIndexKeys = (keys: string) =>
  embeddedDefaultToml().replace("index_urls = [", `${keys}\nindex_urls = [`);

describe("[storage.index_config] graph defaults", () => {
  it("takes m, ef_construction and ef_search", () => {
    const c = parseConfigText(withIndexKeys("m = 16\nef_construction = 100\nef_search = 64"), base);
    expect(c.index).toEqual({ m: 16, efConstruction: 100, efSearch: 64 });
  });

  it("leaves them unset (the index engine's defaults) when absent", () => {
    expect(parseConfigText(embeddedDefaultToml(), base).index).toEqual({});
  });

  it.each([
    ["m = 1", "storage.index_config.m", "got 1"],
    ["ef_search = 5000", "storage.index_config.ef_search", "got 5000"],
    ['m = "16"', "storage.index_config.m", 'got "16"'],
    ["m = 64\nef_construction = 32", "storage.index_config.ef_construction", "must be at least m"],
  ])("refuses %j with a ConfigError naming the key", (keys, path, words) => {
    let error: unknown;
    try {
      parseConfigText(withIndexKeys(keys), base);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).path).toBe(path);
    expect((error as ConfigError).message).toContain(words);
  });
});

describe("POST /collections/:id/search refusals", () => {
  let n: InProcessNode;
  beforeAll(async () => {
    n = await openInProcess();
    await n.call("POST", "/collections", { id: "v", engine: "viper", dimension: 3 });
    await n.call("POST", "/collections/v/records", { records: [{ id: "a", vector: [1, 2, 3] }] });
  });
  afterAll(() => n?.close());

  it("answers 404 for an unknown collection", async () => {
    const r = await n.call("POST", "/collections/nope/search", { vector: [1, 2, 3] });
    expect(r.status).toBe(404);
    expect(r.json.error.kind).toBe("not-found");
  });

  it.each([
    ["a wrong-dimension vector", { vector: [1, 2] }, "dimension is 3"],
    ["a zero vector under cosine", { vector: [0, 0, 0] }, "all zeros"],
    ["no vector", { k: 3 }, "vector is required"],
    ["k out of range", { vector: [1, 2, 3], k: 0 }, "k must be an integer in 1..1000"],
    ["a non-integer ef", { vector: [1, 2, 3], ef: 1.5 }, "ef must be an integer"],
    ["an unknown field", { vector: [1, 2, 3], top: 3 }, 'unknown field "top"'],
    ["a non-number component", { vector: [1, "2", 3] }, "vector[1] must be a number"],
  ])("answers 400 for %s", async (_what, body, words) => {
    const r = await n.call("POST", "/collections/v/search", body);
    expect(r.status).toBe(400);
    expect(r.json.error.message).toContain(words);
  });

  it("answers 400 for an unknown metric at creation", async () => {
    const r = await n.call("POST", "/collections", { id: "m", engine: "lsm", dimension: 2, metric: "dot" });
    expect(r.status).toBe(400);
    expect(r.json.error.message).toContain('metric must be one of "cosine", "l2", "ip"');
  });

  it("still answers a good query after the refusals", async () => {
    const r = await n.call("POST", "/collections/v/search", { vector: [1, 2, 3], k: 1 });
    expect(r.status).toBe(200);
    expect(r.json.results.map((h: { id: string }) => h.id)).toEqual(["a"]);
  });
});

describe("search without an index component", () => {
  let n: InProcessNode;
  beforeAll(async () => {
    n = await openInProcess((t) => t.replace(/\[storage\.index_config\]\nindex_urls = .*\n/, ""));
    await n.call("POST", "/collections", { id: "x", engine: "lsm", dimension: 2, metric: "ip" });
    await n.call("POST", "/collections/x/records", {
      records: [
        { id: "a", vector: [1, 0] },
        { id: "b", vector: [2, 0] },
      ],
    });
    await n.call("POST", "/collections/x/flush");
    await n.call("POST", "/collections/x/records", { records: [{ id: "c", vector: [3, 0] }] });
    await n.call("DELETE", "/collections/x/records/b");
  });
  afterAll(() => n?.close());

  it("answers from the exact path (flushed and unflushed records, deletes honoured) and says so", async () => {
    const r = await n.call("POST", "/collections/x/search", { vector: [1, 0], k: 5 });
    expect(r.json).toEqual({
      exact: true,
      results: [
        { id: "c", score: -2, metadata: null },
        { id: "a", score: 0, metadata: null },
      ],
    });
  });
});
