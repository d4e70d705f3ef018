import { afterAll, describe, expect, it } from "vitest";
import {
  applyAssessment,
  assertServable,
  DeploymentError,
  discover,
  ensureRootMarker,
  initDeployment,
  markerRootUuid,
  prepareDeployment,
  type RootMarkerV2,
  readNewestMarker,
  retireRoot,
  writableRoots,
} from "../../src/index.js";
import { configure, type DiskBackend, type Disks, LAYOUT, pathsOf, recording, urlOf } from "./support.js";

const ALL = pathsOf(LAYOUT);
const DISK3 = ALL.filter((p) => p.startsWith("disk3/"));

async function markerAt(disks: Disks, path: string): Promise<RootMarkerV2> {
  const m = await readNewestMarker(disks.fs(path));
  if (m?.format !== 2) throw new Error(`no format-2 marker at ${path}`);
  return m;
}

/** A started deployment with one collection per WAL root (`c1` on disk1 …) and one VIPER collection. */
async function started(disks: Disks) {
  const { assessment } = await prepareDeployment(configure(disks));
  await disks.write("disk1/wal/c1/000001.avro", "r1");
  await disks.write("disk2/wal/c2/000001.avro", "r2");
  await disks.write("disk3/wal/c3/000001.avro", "r3");
  await disks.write("disk3/viper/c3/part-0.parquet", "v3");
  return assessment;
}

/** The WAL component's discovery over the configured roots of `disks`, with `assessment` applied. */
async function walAssessed(disks: Disks, assessment: Parameters<typeof applyAssessment>[1]) {
  const roots = configure(disks)
    .filter((r) => r.component === "wal")
    .map((r) => r.fs);
  return applyAssessment(await discover({ component: "wal", roots }), assessment);
}

const statusOf = (a: { roots: { url: string; status: string }[] }, disks: Disks, path: string) =>
  a.roots.find((r) => r.url === urlOf(disks, path))?.status;

/** The deployment-identity scenarios of issue #13, on one backend. */
export function describeDeploymentScenarios(backend: DiskBackend): void {
  afterAll(() => backend.cleanup());
  describe(`deployment identity on ${backend.name}`, () => {
    it("a first start initialises every root, and every marker lists every root of every component (#3)", async () => {
      const disks = await backend.create();
      const { assessment, performed } = await prepareDeployment(configure(disks));
      expect(performed).toEqual(["init"]);
      expect(assessment.roots.map((r) => r.status)).toEqual(ALL.map(() => "online"));
      const urls = ALL.map((p) => urlOf(disks, p)).sort();
      const uuids = new Set<string>();
      for (const p of ALL) {
        const m = await markerAt(disks, p);
        expect(m.deployment).toBe(assessment.deployment);
        expect(m.version).toBe(2);
        expect(m.roots.map((e) => e.url).sort()).toEqual(urls);
        expect(m.roots.every((e) => e.state === "active")).toBe(true);
        expect(m.roots.find((e) => e.uuid === m.root)?.url).toBe(urlOf(disks, p));
        uuids.add(m.root);
      }
      expect(uuids.size).toBe(ALL.length);
      // The single-root component knows every other root, and is known by all of them.
      const meta = await markerAt(disks, "disk3/meta");
      expect(meta.roots.filter((e) => e.component !== "metadata")).toHaveLength(9);
      expect(assertServable(assessment)).toBeUndefined();
    });

    it("a lost disk is missing, never re-created, and comes back online with its data (#3)", async () => {
      const disks = await backend.create();
      await started(disks);
      // disk3 holds the last root created and the only metadata root: its markers are gone with it.
      await disks.rename("disk3", "away");
      const { assessment, performed } = await prepareDeployment(configure(disks));
      expect(performed).toEqual([]);
      for (const p of DISK3) expect(statusOf(assessment, disks, p)).toBe("missing");
      expect(assessment.roots.filter((r) => r.status === "online")).toHaveLength(6);
      expect(await disks.exists("disk3")).toBe(false);
      expect(assertServable(assessment)).toBeUndefined();
      expect([...writableRoots(assessment)].some((u) => u.includes("disk3"))).toBe(false);
      // The disk comes back: nothing was lost, nothing needs rewriting.
      await disks.rename("away", "disk3");
      const back = await prepareDeployment(configure(disks));
      expect(back.assessment.roots.every((r) => r.status === "online")).toBe(true);
      expect(back.performed).toEqual([]);
      const wal = await walAssessed(disks, back.assessment);
      expect(Object.keys(wal.collections).sort()).toEqual(["c1", "c2", "c3"]);
    });

    it("all roots of one disk vanish at once: each is missing, the other disks serve, new roots wait", async () => {
      const disks = await backend.create();
      await started(disks);
      await disks.remove("disk3");
      const layout = { ...LAYOUT, wal: [...(LAYOUT.wal ?? []), "disk4/wal"] };
      const { assessment, performed } = await prepareDeployment(configure(disks, layout));
      expect(performed).toEqual([]);
      for (const p of DISK3) expect(statusOf(assessment, disks, p)).toBe("missing");
      expect(statusOf(assessment, disks, "disk4/wal")).toBe("new");
      expect(assessment.problems.map((p) => p.kind)).toEqual(["JoinBlocked"]);
      expect(await disks.exists("disk3")).toBe(false);
      expect(await disks.exists("disk4")).toBe(false);
      expect(assertServable(assessment)).toBeUndefined();
    });

    it("an unmounted disk (an empty mount point) is empty and nothing is ever written into it (#2)", async () => {
      const disks = await backend.create();
      await started(disks);
      for (const p of ["disk2/wal", "disk2/viper", "disk2/lsm"]) await disks.empty(p);
      const before = await disks.snapshot("disk2");
      // A swap elsewhere makes the node rewrite every online marker: still nothing lands on disk2.
      await disks.swap("disk1/lsm", "disk3/lsm");
      const { assessment, performed } = await prepareDeployment(configure(disks));
      expect(performed).toEqual(["rewrite"]);
      for (const p of ["disk2/wal", "disk2/viper", "disk2/lsm"])
        expect(statusOf(assessment, disks, p)).toBe("empty");
      expect(await disks.snapshot("disk2")).toEqual(before);
      expect(Object.values(before).every((v) => v === "dir")).toBe(true);
      expect([...writableRoots(assessment)].some((u) => u.includes("disk2"))).toBe(false);
      const wal = await walAssessed(disks, assessment);
      expect(wal.roots.map((r) => r.status)).toEqual(["online", "empty", "online"]);
    });

    it("a root dropped from the config is unconfigured, serve refuses, and retiring it explicitly lets it start (#1)", async () => {
      const disks = await backend.create();
      await started(disks);
      const config = configure(disks, LAYOUT, DISK3);
      const { assessment } = await prepareDeployment(config);
      expect(assessment.unconfigured.map((u) => u.url).sort()).toEqual(
        DISK3.map((p) => urlOf(disks, p)).sort(),
      );
      expect(() => assertServable(assessment)).toThrow(DeploymentError);
      try {
        assertServable(assessment);
      } catch (err) {
        expect(err).toMatchObject({ kind: "Unconfigured", code: "DEPLOYMENT" });
        expect((err as Error).message).toContain(urlOf(disks, "disk3/wal"));
        expect((err as Error).message).toContain("proximadb roots retire");
      }
      const wal = applyAssessment(
        await discover({
          component: "wal",
          roots: config.filter((r) => r.component === "wal").map((r) => r.fs),
        }),
        assessment,
      );
      expect(wal.unconfigured?.map((u) => u.url)).toEqual([urlOf(disks, "disk3/wal")]);
      // Retiring refuses while the root may hold collections (it cannot be listed: it is not configured).
      const online = await disks.snapshot("disk1");
      await expect(retireRoot(config, urlOf(disks, "disk3/wal"))).rejects.toMatchObject({
        kind: "HoldsCollections",
      });
      await expect(
        retireRoot(config, urlOf(disks, "disk3/wal"), { collections: () => 1 }),
      ).rejects.toMatchObject({ kind: "HoldsCollections", collections: 1 });
      expect(await disks.snapshot("disk1")).toEqual(online);
      let after = assessment;
      for (const p of DISK3) after = await retireRoot(config, urlOf(disks, p), { force: true });
      expect(after.unconfigured).toEqual([]);
      expect(assertServable(after)).toBeUndefined();
      const m = await markerAt(disks, "disk1/wal");
      expect(
        m.roots
          .filter((e) => e.state === "retired")
          .map((e) => e.url)
          .sort(),
      ).toEqual(DISK3.map((p) => urlOf(disks, p)).sort());
      // Configured again, a retired root does not come back silently.
      const again = await prepareDeployment(configure(disks));
      expect(statusOf(again.assessment, disks, "disk3/wal")).toBe("foreign");
      expect(again.assessment.roots.find((r) => r.url === urlOf(disks, "disk3/wal"))?.reason).toBe("Retired");
    });

    it("retiring a configured root that holds collections refuses and writes nothing", async () => {
      const disks = await backend.create();
      await started(disks);
      const before = await disks.snapshot("");
      await expect(retireRoot(configure(disks), urlOf(disks, "disk1/wal"))).rejects.toMatchObject({
        kind: "HoldsCollections",
        collections: 1,
      });
      expect(await disks.snapshot("")).toEqual(before);
    });

    it("a root of another deployment is foreign and never written; deployments do not mix (#5)", async () => {
      const disks = await backend.create();
      const ours = await started(disks);
      const other = await initDeployment([{ component: "wal", fs: disks.fs("other/wal") }]);
      expect(other.deployment).not.toBe(ours.deployment);
      const before = await disks.snapshot("other");
      const layout = { ...LAYOUT, wal: [...(LAYOUT.wal ?? []), "other/wal"] };
      const { assessment } = await prepareDeployment(configure(disks, layout), {
        expectedDeployment: ours.deployment,
      });
      expect(assessment.deployment).toBe(ours.deployment);
      expect(assessment.roots.find((r) => r.url === urlOf(disks, "other/wal"))).toMatchObject({
        status: "foreign",
        reason: "Deployment",
      });
      expect(await disks.snapshot("other")).toEqual(before);
      // Only the other deployment's root configured, ours expected: not adopted, not initialised.
      const alone = await prepareDeployment([{ component: "wal", fs: disks.fs("other/wal") }], {
        expectedDeployment: ours.deployment,
      });
      expect(alone.performed).toEqual([]);
      expect(alone.assessment.problems[0]?.kind).toBe("DeploymentNotFound");
      expect(() => assertServable(alone.assessment)).toThrow(DeploymentError);
      expect(await disks.snapshot("other")).toEqual(before);
    });

    it("a mount swap keeps working: each collection follows its disk and the markers learn the new URLs", async () => {
      const disks = await backend.create();
      await started(disks);
      await disks.swap("disk1/wal", "disk2/wal");
      const walFs = () =>
        configure(disks)
          .filter((r) => r.component === "wal")
          .map((r) => r.fs);
      const seen = await prepareDeployment(configure(disks), { readOnly: true });
      const swapped = seen.assessment.roots.filter((r) => r.moved);
      expect(swapped.map((r) => [r.url, r.moved?.from])).toEqual([
        [urlOf(disks, "disk1/wal"), urlOf(disks, "disk2/wal")],
        [urlOf(disks, "disk2/wal"), urlOf(disks, "disk1/wal")],
      ]);
      expect(seen.assessment.warnings.filter((w) => w.includes("mount swap"))).toHaveLength(2);
      const report = applyAssessment(await discover({ component: "wal", roots: walFs() }), seen.assessment);
      expect(report.collections.c1?.url).toBe(urlOf(disks, "disk2/wal"));
      expect(report.collections.c2?.url).toBe(urlOf(disks, "disk1/wal"));
      expect(report.roots[0]?.moved).toEqual({ from: urlOf(disks, "disk2/wal") });
      const { assessment, performed } = await prepareDeployment(configure(disks));
      expect(performed).toEqual(["rewrite"]);
      expect(assessment.roots.every((r) => r.status === "online" && !r.moved && !r.stale)).toBe(true);
      const m = await markerAt(disks, "disk3/lsm");
      const d1 = await markerAt(disks, "disk1/wal");
      expect(m.roots.find((e) => e.uuid === d1.root)?.url).toBe(urlOf(disks, "disk1/wal"));
    });

    it("a first start interrupted half-way through initialising roots completes at the next start", async () => {
      const disks = await backend.create();
      let created = 0;
      const crashing = configure(disks).map((r) => ({
        ...r,
        fs: recording(r.fs, (key) => key.startsWith("_proximadb_root.v") && ++created > 4),
      }));
      await expect(prepareDeployment(crashing)).rejects.toThrow(/simulated crash/);
      const written = [];
      for (const p of ALL) {
        const m = await readNewestMarker(disks.fs(p));
        if (m?.format === 2) written.push({ p, m });
      }
      expect(written).toHaveLength(4);
      expect(written.every(({ m }) => m.roots.every((e) => e.state === "initializing"))).toBe(true);
      const { assessment, performed } = await prepareDeployment(configure(disks));
      expect(performed).toEqual(["complete"]);
      expect(assessment.deployment).toBe(written[0]?.m.deployment);
      expect(assessment.roots.every((r) => r.status === "online")).toBe(true);
      for (const { p, m } of written) expect((await markerAt(disks, p)).root).toBe(m.root);
      for (const p of ALL)
        expect((await markerAt(disks, p)).roots.every((e) => e.state === "active")).toBe(true);
    });

    it("a new empty root joins an existing deployment and every marker learns it", async () => {
      const disks = await backend.create();
      await started(disks);
      const layout = { ...LAYOUT, lsm: [...(LAYOUT.lsm ?? []), "disk4/lsm"] };
      const { assessment, performed } = await prepareDeployment(configure(disks, layout));
      expect(performed).toEqual(["join"]);
      expect(statusOf(assessment, disks, "disk4/lsm")).toBe("online");
      const joined = await markerAt(disks, "disk4/lsm");
      for (const p of ALL) {
        const m = await markerAt(disks, p);
        expect(m.roots.find((e) => e.uuid === joined.root)).toMatchObject({
          state: "active",
          component: "lsm",
        });
      }
    });

    it("the previous release's markers are upgraded: root UUIDs kept, a listed sibling without a marker stays known", async () => {
      const disks = await backend.create();
      const [a, b, c] = ["disk1/wal", "disk2/wal", "disk3/wal"].map((p) => disks.fs(p));
      // As the previous release wrote them: each marker lists the siblings that had one already.
      const ma = await ensureRootMarker(a!, "wal");
      const mb = await ensureRootMarker(b!, "wal", { siblings: [a!.root.url] });
      await ensureRootMarker(c!, "wal", { siblings: [a!.root.url, b!.root.url] });
      await disks.write("disk1/wal/c1/000001.avro", "r1");
      await disks.rename("disk1", "away"); // the first root is lost before the upgrade; its siblings list it
      const config = [a!, b!, c!].map((fs) => ({ component: "wal" as const, fs }));
      const { assessment, performed } = await prepareDeployment(config);
      expect(performed).toEqual(["upgrade"]);
      expect(assessment.format).toBe(2);
      expect(assessment.roots.map((r) => r.status)).toEqual(["missing", "online", "online"]);
      const m = await markerAt(disks, "disk2/wal");
      expect(m.root).toBe(markerRootUuid(mb));
      expect(m.roots.map((e) => e.url)).toEqual([b!.root.url, c!.root.url, a!.root.url]);
      expect(await disks.exists("disk1")).toBe(false);
      // The lost root comes back with its format-1 marker: it is recognised, and its UUID is learnt.
      await disks.rename("away", "disk1");
      const back = await prepareDeployment(config);
      expect(back.performed).toEqual(["rewrite"]);
      expect(back.assessment.roots.map((r) => r.status)).toEqual(["online", "online", "online"]);
      expect((await markerAt(disks, "disk1/wal")).root).toBe(markerRootUuid(ma));
      expect((await markerAt(disks, "disk3/wal")).roots.find((e) => e.url === a!.root.url)?.uuid).toBe(
        markerRootUuid(ma),
      );
    });

    it("roots holding files but no marker are foreign and no deployment is initialised on them", async () => {
      const disks = await backend.create();
      await disks.write("disk2/wal/c9/000001.avro", "someone else's");
      const { assessment, performed } = await prepareDeployment(configure(disks));
      expect(performed).toEqual([]);
      expect(assessment.roots.find((r) => r.url === urlOf(disks, "disk2/wal"))).toMatchObject({
        status: "foreign",
        reason: "UnmarkedData",
      });
      expect(assessment.problems[0]).toMatchObject({ kind: "NotInitializable", blocking: true });
      expect(await disks.snapshot("")).toEqual({
        "disk2/": "dir",
        "disk2/wal/": "dir",
        "disk2/wal/c9/": "dir",
        "disk2/wal/c9/000001.avro": "someone else's",
      });
    });

    it("every marker write is durable, and the version file is created exclusively", async () => {
      const disks = await backend.create();
      const roots = configure(disks).map((r) => ({ ...r, fs: recording(r.fs) }));
      await prepareDeployment(roots);
      const writes = roots.flatMap((r) => r.fs.writes);
      expect(writes).toHaveLength(ALL.length * 4);
      expect(writes.every((w) => w.options?.durable === true)).toBe(true);
      expect(
        writes.filter((w) => w.key.startsWith("_proximadb_root.v")).every((w) => w.options?.exclusive),
      ).toBe(true);
    });
  });
}
