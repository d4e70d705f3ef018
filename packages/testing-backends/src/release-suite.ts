import { AssignmentService, type ComponentType, listAll } from "@proximadb/core";
import { beforeEach, it } from "vitest";
import { describeOnBackends } from "./describe.js";
import type { RootSet } from "./types.js";

/** What {@link describeRelease} needs of an engine: placement, `release` and `close`. */
export interface ReleasableEngine {
  locate(id: string): { readonly url: string } | undefined;
  release(id: string): Promise<void>;
  close(): Promise<void>;
}

/** One scenario of {@link describeRelease}: an engine open on two roots of one component. */
export interface ReleaseScenario<E extends ReleasableEngine> {
  /** The component's two roots. */
  readonly tier: RootSet;
  /** The assignment service the engine was opened with. */
  readonly service: AssignmentService;
  /** The engine under test (closed by the suite after the scenario). */
  readonly engine: E;
  /**
   * What a move does around the engine: `engine.release(id)`, then every file of `<id>/` copied to the
   * other root and deleted from its root, then the assignment moved. Returns the two roots' URLs.
   */
  move(id: string): Promise<{ from: string; to: string }>;
}

/** Declares one `it` of a {@link describeRelease} suite. */
export type ReleaseTest<E extends ReleasableEngine> = (
  name: string,
  fn: (scenario: ReleaseScenario<E>) => Promise<void>,
) => void;

/**
 * The suite of an engine's `release` (what the mover calls before and after a move's commit), on the
 * memory and local backends: each test declared with the given `test` opens the engine by `open` on two
 * roots of `component`, runs, and closes it.
 *
 * @example
 * describeRelease("LsmEngine.release", "lsm", (service, tier) => LsmEngine.open({ service, openFileSystem: (r) => tier.openFileSystem(r) }), (test) => {
 *   test("reads follow the collection", async ({ engine, move }) => { ... });
 * });
 */
export function describeRelease<E extends ReleasableEngine>(
  title: string,
  component: ComponentType,
  open: (service: AssignmentService, tier: RootSet) => Promise<E>,
  body: (test: ReleaseTest<E>) => void,
): void {
  describeOnBackends(title, ["memory", "local"], (backend) => {
    let tier: RootSet;
    beforeEach(async () => {
      tier = await backend.roots(component, 2);
    });
    body((name, fn) => {
      it(name, async () => {
        const service = new AssignmentService({ components: { [component]: { roots: tier.urls } } });
        const engine = await open(service, tier);
        const move = async (id: string): Promise<{ from: string; to: string }> => {
          const from = engine.locate(id)?.url as string;
          const to = tier.urls.find((u) => u !== from) as string;
          await engine.release(id);
          const source = tier.openFileSystem(from);
          const target = tier.openFileSystem(to);
          const { files } = await listAll(source, `${id}/`);
          for (const f of files) await target.write(f.key, await source.read(f.key));
          await source.deletePrefix(`${id}/`);
          await service.reassign(id, component, from, to);
          return { from, to };
        };
        try {
          await fn({ tier, service, engine, move });
        } finally {
          await engine.close();
        }
      });
    });
  });
}
