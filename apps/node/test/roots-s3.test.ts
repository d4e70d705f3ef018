/**
 * Issue #13 on an object store (s3rver): the node's WAL on two S3 prefixes. The first start writes a
 * format-2 marker family in each prefix; when one prefix is emptied (objects moved away — what a
 * wrong lifecycle rule or a restore into another prefix looks like) it is `empty`: never written, its
 * collections unavailable; when its objects are back, every acknowledged record is readable.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type FileSystem, listAll, parseStorageUrl } from "@proximadb/core";
import { type S3rverInstance, startS3rver } from "@proximadb/testing/emulators/s3rver";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { loadConfigFile } from "../src/config.js";
import { fileSystemOpener } from "../src/storage.js";
import { type RunResult, tempDir } from "./helpers.js";
import { DIM, type ReadBack, type Response, Scenario, itReadsBack } from "./roots-support.js";

const BUCKET = "proximadb-roots";
const WAL_A = `s3://${BUCKET}/node/wal-a`;
const WAL_B = `s3://${BUCKET}/node/wal-b`;
const BACKUP = `s3://${BUCKET}/node/backup-b`;

/** Moves every object of one prefix to another (read, write, delete), through the node's own adapter. */
async function moveAll(from: FileSystem, to: FileSystem): Promise<number> {
  const { files } = await listAll(from, "");
  for (const f of files) await to.write(f.key, await from.read(f.key));
  await from.deleteMany(files.map((f) => f.key));
  return files.length;
}

describe("a WAL prefix on S3 (s3rver) emptied and restored", () => {
  let s3: S3rverInstance;
  const cwd = tempDir("proximadb-roots-s3-");
  const config = join(cwd, "proximadb.toml");
  const s = new Scenario(cwd, ["--config", config]);
  const { ledger } = s;
  const ids = ["s-0", "s-1", "s-2", "s-3"];
  let fsOf: (url: string) => FileSystem;
  const seen = {} as {
    markerKeys: string[];
    created: Response[];
    moved: number;
    discover: RunResult;
    listed: Response;
    read: Response;
    write: Response;
    healthy: Response;
    emptied: string[];
    back: ReadBack;
  };

  beforeAll(async () => {
    s3 = await startS3rver({ buckets: [BUCKET] });
    vi.stubEnv("AWS_ACCESS_KEY_ID", s3.credentials.accessKeyId);
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", s3.credentials.secretAccessKey);
    writeFileSync(
      config,
      [
        `[storage.wal_config]\nwal_urls = ${JSON.stringify([WAL_A, WAL_B])}`,
        `[storage.viper_config]\ndata_urls = ["file://disk1/viper", "file://disk2/viper"]`,
        `[storage.lsm_config]\ndata_urls = ["file://disk1/lsm", "file://disk2/lsm"]`,
        `[storage.metadata_config]\nmetadata_urls = ["file://disk1/meta", "file://disk2/meta"]`,
        `[backends.s3]\nendpoint = "${s3.endpoint}"\nregion = "${s3.region}"\nforce_path_style = true\nmax_attempts = 2`,
      ].join("\n\n"),
    );
    const open = await fileSystemOpener(await loadConfigFile(config));
    fsOf = (url) => open(parseStorageUrl(url));

    const a = await s.start();
    seen.created = [];
    for (const [i, id] of ids.entries()) {
      seen.created.push(
        await a.request("POST", "/collections", { id, engine: i % 2 ? "lsm" : "viper", dimension: DIM }),
      );
      await ledger.put(a, id, 0, 30);
      await a.request("POST", `/collections/${id}/flush`);
      await ledger.put(a, id, 30, 30);
    }
    await a.stop();
    seen.markerKeys = (await listAll(fsOf(WAL_B), "_proximadb_root")).files.map((f) => f.key).sort();

    seen.moved = await moveAll(fsOf(WAL_B), fsOf(BACKUP));
    seen.discover = await s.discover();
    const b = await s.start();
    seen.listed = await b.request("GET", "/collections");
    seen.read = await b.request("GET", "/collections/s-1/records/r0");
    seen.write = await ledger.put(b, "s-3", 1000, 10);
    seen.healthy = await ledger.put(b, "s-0", 1000, 10);
    await b.stop();
    seen.emptied = (await listAll(fsOf(WAL_B), "")).files.map((f) => f.key);

    await moveAll(fsOf(BACKUP), fsOf(WAL_B));
    seen.back = await s.readBack();
  }, 180_000);

  afterAll(async () => {
    await s3?.stop();
    vi.unstubAllEnvs();
  });

  it("places the WALs of s-1 and s-3 on the second prefix", () => {
    expect(seen.created.map((r) => r.json.placements.wal.url)).toEqual([WAL_A, WAL_B, WAL_A, WAL_B]);
  });

  it("writes the marker family in the S3 prefix at the first start", () => {
    expect(seen.markerKeys).toEqual([
      "_proximadb_root.json",
      "_proximadb_root.v1.json",
      "_proximadb_root.v2.json",
    ]);
  });

  it("discover reports the emptied prefix as empty (exit 3)", () => {
    expect(seen.moved).toBeGreaterThan(3);
    expect(seen.discover.code).toBe(3);
    expect(JSON.parse(seen.discover.stdout).components.wal.roots[1]).toMatchObject({
      url: WAL_B,
      status: "empty",
    });
  });

  it("lists s-1 and s-3 as unavailable, s-0 and s-2 as available", () => {
    expect(
      seen.listed.json.collections.map((c: { id: string; state: string }) => `${c.id} ${c.state}`),
    ).toEqual(["s-0 available", "s-1 unavailable", "s-2 available", "s-3 unavailable"]);
  });

  it("answers their reads and writes with 503 naming the prefix", () => {
    for (const r of [seen.read, seen.write]) {
      expect(r.status).toBe(503);
      expect(r.json.error.message).toContain(WAL_B);
    }
    expect(seen.healthy.status).toBe(200);
  });

  it("writes no object into the emptied prefix", () => {
    expect(seen.emptied).toEqual([]);
  });

  itReadsBack("when the objects are back, every acknowledged record is readable", seen, 250);
});
