// core-movement: fraction of collections moved when 8 -> 9 roots, rendezvous Hash vs modulo (hash % N);
// and balance (max/mean collections per root) for 100, 10,000 and 1,000,000 collections.
import { type CollectionId, HashStrategy, type RootView, xxh64 } from "../src/index.js";
import { printTable, writeResult } from "../../../bench/lib.js";

const views = (n: number): RootView[] =>
  Array.from({ length: n }, (_, index) => {
    const url = `file:///mnt/disk${index + 1}/viper`;
    return { url, index, state: "active", weight: 1, collections: 0, bytes: undefined, hash: xxh64(url) };
  });
const hrw = new HashStrategy();
const place = (id: string, roots: RootView[]) =>
  hrw.choose(id as CollectionId, { component: "viper", roots, cursor: 0 });
const modulo = (id: string, n: number) => {
  const h = xxh64(id);
  return Number(((BigInt(h.hi) << 32n) | BigInt(h.lo)) % BigInt(n));
};

const M = 1_000_000;
const ids = Array.from({ length: M }, (_, i) => `collection-${i}`);
const r8 = views(8);
const r9 = views(9);
let movedHash = 0;
let movedMod = 0;
for (const id of ids) {
  if (r8[place(id, r8)]!.url !== r9[place(id, r9)]!.url) movedHash++;
  if (modulo(id, 8) !== modulo(id, 9)) movedMod++;
}
const movement = [
  { scheme: "rendezvous (Hash)", moved: movedHash / M, ideal: 1 / 9 },
  { scheme: "modulo (hash % N)", moved: movedMod / M, ideal: 1 / 9 },
];
printTable(
  `core-movement: fraction of ${M.toLocaleString("en-US")} collections moved, 8 -> 9 roots`,
  movement,
);

const balance: Record<string, unknown>[] = [];
for (const n of [100, 10_000, 1_000_000]) {
  const counts = new Array(8).fill(0);
  const countsMod = new Array(8).fill(0);
  for (let i = 0; i < n; i++) {
    counts[place(ids[i]!, r8)]++;
    countsMod[modulo(ids[i]!, 8)]++;
  }
  const mean = n / 8;
  balance.push({
    collections: n,
    "Hash max/mean": Math.max(...counts) / mean,
    "modulo max/mean": Math.max(...countsMod) / mean,
    "expected spread √((N−1)/K)": Math.sqrt(7 / n),
  });
}
printTable("core-movement: balance on 8 roots", balance);
writeResult("core", "movement", { movement, balance });
