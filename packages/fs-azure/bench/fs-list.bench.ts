// fs-list: time and LIST request count to list 20,000 blobs on Azurite, flat and hierarchy (delimiter) mode.
// Requests are counted at a fault proxy with every fault rate at 0, between the SDK and Azurite.
// Run: pnpm --filter @proximadb/fs-azure bench   (writes bench/results/fs-azure-fs-list.json)
import { ContainerClient } from "@azure/storage-blob";
import { type FileSystem, listAll } from "@proximadb/core";
import { createFaultProxy } from "@proximadb/testing/fault-proxy";
import { startAzurite } from "@proximadb/testing/emulators/azurite";
import { median, printTable, timeRuns, writeResult } from "../../../bench/lib.js";
import { AzureBlobFileSystem } from "../src/index.js";

const COLLECTIONS = 200;
const FILES_PER_COLLECTION = 100;
const TOTAL = COLLECTIONS * FILES_PER_COLLECTION;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

const azurite = await startAzurite({ containers: ["bench"] });
const proxy = await createFaultProxy({
  target: new URL(azurite.blobEndpoint).origin,
  errorRate: 0,
  resetRate: 0,
  latencyMs: 0,
});
try {
  // Seed straight into Azurite (not through the proxy), many uploads in flight.
  const seedStart = performance.now();
  const raw = new ContainerClient(azurite.connectionString, "bench");
  const keys = Array.from({ length: TOTAL }, (_, i) => {
    const c = String(Math.floor(i / FILES_PER_COLLECTION)).padStart(4, "0");
    const f = String(i % FILES_PER_COLLECTION).padStart(4, "0");
    return `root/coll-${c}/seg-${f}.sst`;
  });
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < keys.length) {
        const key = keys[next++] as string;
        await raw.getBlockBlobClient(key).upload("x", 1);
      }
    }),
  );
  console.log(
    `seeded ${TOTAL.toLocaleString("en-US")} blobs in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`,
  );

  const fs = new AzureBlobFileSystem(`adls://${azurite.accountName}/bench/root`, {
    accountKey: azurite.accountKey,
    endpoint: `${proxy.url}/${azurite.accountName}`,
  });

  /** Hierarchy walk, as discovery does it: the root's level, then each collection's level. */
  async function walk(f: FileSystem, pageSize: number): Promise<number> {
    const top = await listAll(f, "", { delimiter: true, pageSize });
    let files = top.files.length;
    for (const p of top.prefixes) files += (await listAll(f, p, { delimiter: true, pageSize })).files.length;
    return files;
  }

  const cases: { name: string; mode: string; pageSize: number; run: () => Promise<number> }[] = [
    {
      name: "flat, whole root",
      mode: "flat",
      pageSize: 1000,
      run: async () => (await listAll(fs, "", { pageSize: 1000 })).files.length,
    },
    {
      name: "flat, whole root",
      mode: "flat",
      pageSize: 5000,
      run: async () => (await listAll(fs, "", { pageSize: 5000 })).files.length,
    },
    {
      name: "hierarchy, root level (collections)",
      mode: "hierarchy",
      pageSize: 1000,
      run: async () => (await listAll(fs, "", { delimiter: true, pageSize: 1000 })).prefixes.length,
    },
    {
      name: "hierarchy walk, root + each collection",
      mode: "hierarchy",
      pageSize: 1000,
      run: () => walk(fs, 1000),
    },
    {
      name: "hierarchy walk, root + each collection",
      mode: "hierarchy",
      pageSize: 5000,
      run: () => walk(fs, 5000),
    },
  ];

  const rows: Record<string, unknown>[] = [];
  for (const c of cases) {
    proxy.resetStats();
    const found = await c.run();
    const lists = proxy.stats.lists;
    const requests = proxy.stats.requests;
    const times = await timeRuns(c.run, RUNS, 0);
    rows.push({
      case: c.name,
      mode: c.mode,
      pageSize: c.pageSize,
      entries: found,
      listRequests: lists,
      httpRequests: requests,
      medianMs: Math.round(median(times)),
      minMs: Math.round(Math.min(...times)),
      maxMs: Math.round(Math.max(...times)),
      runs: RUNS,
    });
  }
  printTable(
    `fs-azure list of ${TOTAL.toLocaleString("en-US")} blobs on Azurite (${COLLECTIONS} collections × ${FILES_PER_COLLECTION} files)`,
    rows,
  );
  writeResult("fs-azure", "fs-list", {
    emulator: "azurite 3.35.0 (blob, in-memory)",
    blobs: TOTAL,
    collections: COLLECTIONS,
    filesPerCollection: FILES_PER_COLLECTION,
    requestCountedAt: "fault proxy (rates 0) between @azure/storage-blob and Azurite",
    results: rows,
  });
} finally {
  await proxy.close();
  await azurite.stop();
}
