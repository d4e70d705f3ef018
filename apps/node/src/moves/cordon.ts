import {
  type AssignmentService,
  type ComponentType,
  type FileSystem,
  isFsError,
  parseStorageUrl,
} from "@proximadb/core";
import type { Logger } from "pino";
import { NodeError } from "../errors.js";
import type { StorageNode } from "../node.js";
import type { OpenRoots } from "../startup.js";
import { fileSystemOpener } from "../storage.js";

// A drain's cordon outlives the node: `drain` writes `_cordon.json` at the top of the root (a reserved
// name: discovery and the mover skip it), and every start cordons the roots that hold one, until the
// operator un-cordons the root (`proximadb uncordon <url>`, `POST /roots/uncordon`), which deletes it.
// It lives in the root, not in the node, so it travels with the disk or bucket and any node serving the
// root sees it; `state = "cordoned"` in the config is the other, static way (un-cordon leaves it so).

/** The file in a root that keeps it cordoned across restarts. */
export const CORDON_FILE = "_cordon.json";

/** What {@link CORDON_FILE} holds. */
export interface CordonRecord {
  readonly cordoned: true;
  /** Why: `drain` for now. */
  readonly reason: string;
  /** ISO time of the cordon. */
  readonly at: string;
}

/** Writes the cordon record (durably) into a root. */
export async function writeCordon(fs: FileSystem, reason: string): Promise<void> {
  const record: CordonRecord = { cordoned: true, reason, at: new Date().toISOString() };
  await fs.write(CORDON_FILE, `${JSON.stringify(record)}\n`, {
    durable: true,
    contentType: "application/json",
  });
}

/** Deletes a root's cordon record (absent is fine). */
export async function clearCordon(fs: FileSystem): Promise<void> {
  try {
    await fs.delete(CORDON_FILE);
  } catch (err) {
    if (!isFsError(err, "NotFound")) throw err;
  }
}

/** True when the root holds a cordon record. */
export async function isCordonedOnDisk(fs: FileSystem): Promise<boolean> {
  return fs.exists(CORDON_FILE);
}

/** Components whose configured roots include `url`. */
function componentsOf(service: AssignmentService, url: string): ComponentType[] {
  return service.components.filter((c) => service.roots(c).some((r) => r.url === url));
}

/** A configured root a request names (see {@link withConfiguredRoot}). */
export interface ConfiguredRootRef {
  /** The root's URL, normalised. */
  readonly url: string;
  /** The components whose configured roots include it. */
  readonly components: ComponentType[];
  /** A file system on it, open while `work` runs. */
  readonly fs: FileSystem;
}

/**
 * Runs `work` (`action`: `drain`, `un-cordon`, named in a refusal) on the configured root that `rawUrl`
 * names, with a file system opened on it for the call and closed after. Both write the root's cordon
 * record, and an offline root is never written: a drain would put its record on an unmounted disk's empty
 * mount point, an un-cordon would delete nothing there yet answer "active", and the disk would come back
 * still cordoned. Such a root is refused; the operator acts again once it is back.
 * @throws NodeError `InvalidArgument` for a URL that does not parse or is no configured root,
 *   `Unavailable` (with the root in `roots`) while the node may not write the root
 */
export async function withConfiguredRoot<T>(
  node: StorageNode,
  rawUrl: string,
  action: string,
  work: (root: ConfiguredRootRef) => Promise<T>,
): Promise<T> {
  let url: string;
  try {
    url = parseStorageUrl(rawUrl).url;
  } catch (err) {
    throw new NodeError("InvalidArgument", `url: ${(err as Error).message}`);
  }
  const components = componentsOf(node.service, url);
  if (components.length === 0) throw new NodeError("InvalidArgument", `${url} is not a configured root`);
  const why = node.health.refusal(url);
  if (why !== undefined) {
    const status = node.health.condition(url)?.status ?? "unconfigured";
    const reason = why.startsWith(`${status}: `) ? why.slice(status.length + 2) : why;
    throw new NodeError(
      "Unavailable",
      `cannot ${action} ${url}: the root may not be written now (${why}); ${action} it once it is back`,
      { roots: components.map((component) => ({ component, url, status, reason })) },
    );
  }
  const fs = (await fileSystemOpener(node.config))(parseStorageUrl(url));
  try {
    return await work({ url, components, fs });
  } finally {
    await fs.close();
  }
}

/**
 * At start: cordons every active root holding a cordon record (an offline root stays offline; it is
 * read again at the next start). A root that cannot be read is left as it is, with a warning.
 */
export async function applyCordonsAtStart(
  roots: OpenRoots,
  service: AssignmentService,
  logger: Logger,
): Promise<string[]> {
  const active = new Set<string>();
  for (const s of service.stats()) for (const r of s.roots) if (r.state === "active") active.add(r.url);
  const cordoned: string[] = [];
  await Promise.all(
    [...roots.byUrl].map(async ([url, fs]) => {
      if (!active.has(url)) return;
      try {
        if (!(await isCordonedOnDisk(fs))) return;
      } catch (err) {
        logger.warn({ root: url, err: (err as Error).message }, "cannot read the root's cordon record");
        return;
      }
      for (const c of componentsOf(service, url)) service.setRootState(c, url, "cordoned");
      cordoned.push(url);
      logger.info({ root: url }, "storage root is cordoned (drained): it gets no new collections");
    }),
  );
  return cordoned.sort();
}

/** What `POST /roots/uncordon` did. */
export interface UncordonView {
  readonly url: string;
  readonly components: ComponentType[];
  /** `active`, or `cordoned` when the configuration says so (`state = "cordoned"`). */
  readonly state: "active" | "cordoned";
}

/**
 * Un-cordons a root: deletes its cordon record and makes it active again in every component that has it,
 * unless the configuration cordons it.
 */
export async function uncordon(
  service: AssignmentService,
  root: ConfiguredRootRef,
  configured: (component: ComponentType, url: string) => "active" | "cordoned",
): Promise<UncordonView> {
  const { url, components, fs } = root;
  await clearCordon(fs);
  const states = new Map<ComponentType, string>();
  for (const s of service.stats()) states.set(s.component, s.roots.find((r) => r.url === url)?.state ?? "");
  let state: UncordonView["state"] = "active";
  for (const c of components) {
    const want = configured(c, url);
    if (want === "cordoned") state = "cordoned";
    if (states.get(c) === "cordoned" && want === "active") service.setRootState(c, url, "active");
  }
  return { url, components, state };
}
