import { DuplicateRootError, InvalidStorageUrlError, NestedRootsError } from "./errors.js";

/** URL schemes a storage root may use. `gs://` is accepted as an alias of `gcs://`. */
export const STORAGE_SCHEMES = ["file", "mem", "s3", "adls", "gcs"] as const;

/** One of {@link STORAGE_SCHEMES}. */
export type StorageScheme = (typeof STORAGE_SCHEMES)[number];

/**
 * A parsed, normalised storage root.
 *
 * - `file`: `path` is an absolute POSIX path (no trailing slash).
 * - `mem`: `path` is an absolute path inside the memfs volume.
 * - `s3`, `gcs`: `bucket` and `prefix`.
 * - `adls`: `account`, `container` and `prefix`.
 *
 * `prefix` never starts or ends with `/` and may be empty. `url` is the canonical form, the one to
 * store, compare and show.
 */
export interface StorageRoot {
  readonly url: string;
  readonly scheme: StorageScheme;
  readonly path?: string;
  readonly bucket?: string;
  readonly account?: string;
  readonly container?: string;
  readonly prefix: string;
}

/** Options of {@link parseStorageUrl}. */
export interface ParseStorageUrlOptions {
  /**
   * Absolute folder that relative `file:` paths resolve against (the config file's folder).
   * Without it a relative `file:` URL is an error.
   */
  baseDir?: string;
}

const S3_BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const GCS_BUCKET = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;
const AZ_ACCOUNT = /^[a-z0-9]{3,24}$/;
const AZ_CONTAINER = /^(?=.{3,63}$)[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9]))*$/;

function splitPath(raw: string, url: string): string[] {
  const out: string[] = [];
  for (const seg of raw.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") throw new InvalidStorageUrlError(url, "'..' segments are not allowed");
    out.push(seg);
  }
  return out;
}

/**
 * Parses and normalises a storage root URL. Throws {@link InvalidStorageUrlError}, naming the
 * offending value (with any secret removed), for an unknown scheme, a missing bucket/container,
 * credentials, query strings or fragments in the URL, `..` segments and control characters.
 *
 * @example
 * parseStorageUrl("s3://wal-bucket/proximadb/").url // "s3://wal-bucket/proximadb"
 * parseStorageUrl("gs://b/p").url                   // "gcs://b/p"
 */
export function parseStorageUrl(input: string, options: ParseStorageUrlOptions = {}): StorageRoot {
  if (typeof input !== "string" || input.trim() === "")
    throw new InvalidStorageUrlError(String(input), "empty URL");
  const url = input.trim();
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\u0000-\u001f\u007f\\]/.test(url))
    throw new InvalidStorageUrlError(url, "control characters and backslashes are not allowed");
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):(.*)$/s.exec(url);
  if (!m)
    throw new InvalidStorageUrlError(
      url,
      "expected <scheme>://…, e.g. file:///mnt/disk1/wal or s3://bucket/prefix",
    );
  let scheme = (m[1] as string).toLowerCase();
  let rest = m[2] as string;
  if (scheme === "gs") scheme = "gcs";
  if (!(STORAGE_SCHEMES as readonly string[]).includes(scheme)) {
    throw new InvalidStorageUrlError(
      url,
      `unknown scheme '${m[1]}:'; expected one of file, mem, s3, adls, gcs (gs)`,
    );
  }
  if (/[?#]/.test(rest))
    throw new InvalidStorageUrlError(
      url,
      "query strings and fragments are not allowed; put options in the config",
    );
  if (scheme === "file") return parseFile(url, rest, options);
  if (!rest.startsWith("//")) throw new InvalidStorageUrlError(url, `expected ${scheme}://…`);
  rest = rest.slice(2);
  const slash = rest.indexOf("/");
  const authority = slash < 0 ? rest : rest.slice(0, slash);
  if (authority.includes("@"))
    throw new InvalidStorageUrlError(
      url,
      "credentials are not allowed in a storage URL; configure them in the config or the environment",
    );
  const segments = splitPath(slash < 0 ? "" : rest.slice(slash), url);
  if (scheme === "mem") {
    const all = [...(authority === "" ? [] : [authority]), ...segments];
    if (all.length === 0)
      throw new InvalidStorageUrlError(url, "a mem:// root needs a name, e.g. mem://disk1");
    if (all.includes("..")) throw new InvalidStorageUrlError(url, "'..' segments are not allowed");
    return { url: `mem://${all.join("/")}`, scheme: "mem", path: `/${all.join("/")}`, prefix: "" };
  }
  if (authority === "")
    throw new InvalidStorageUrlError(url, scheme === "adls" ? "missing storage account" : "missing bucket");
  if (authority.includes(":"))
    throw new InvalidStorageUrlError(
      url,
      "ports and endpoints are not part of a storage URL; set the endpoint in the config",
    );
  if (scheme === "s3" || scheme === "gcs") {
    const bucket = authority;
    const ok = scheme === "s3" ? S3_BUCKET.test(bucket) : GCS_BUCKET.test(bucket);
    if (!ok) throw new InvalidStorageUrlError(url, `'${bucket}' is not a valid bucket name`);
    const prefix = segments.join("/");
    return { url: `${scheme}://${bucket}${prefix ? `/${prefix}` : ""}`, scheme, bucket, prefix };
  }
  // adls://account/container/prefix
  const account = authority;
  if (!AZ_ACCOUNT.test(account))
    throw new InvalidStorageUrlError(
      url,
      `'${account}' is not a valid storage account name (3-24 lowercase letters and digits)`,
    );
  const [container, ...prefixSegs] = segments;
  if (container === undefined)
    throw new InvalidStorageUrlError(url, "missing container: expected adls://account/container/prefix");
  if (!AZ_CONTAINER.test(container))
    throw new InvalidStorageUrlError(
      url,
      `'${container}' is not a valid container name (3-63 lowercase letters, digits and single hyphens)`,
    );
  const prefix = prefixSegs.join("/");
  return {
    url: `adls://${account}/${container}${prefix ? `/${prefix}` : ""}`,
    scheme: "adls",
    account,
    container,
    prefix,
  };
}

function parseFile(url: string, rest: string, options: ParseStorageUrlOptions): StorageRoot {
  let path: string;
  if (rest.startsWith("//")) {
    const after = rest.slice(2);
    if (after.startsWith("/")) path = after;
    else if (after.startsWith("localhost/")) path = after.slice("localhost".length);
    else path = after; // file://data/wal: relative to the config folder
  } else path = rest;
  if (path.includes("@") && /^[^/]*@/.test(path))
    throw new InvalidStorageUrlError(url, "credentials are not allowed in a storage URL");
  if (!path.startsWith("/")) {
    if (!options.baseDir)
      throw new InvalidStorageUrlError(
        url,
        "relative file path with no base folder to resolve it against; use file:///absolute/path",
      );
    if (!options.baseDir.startsWith("/"))
      throw new InvalidStorageUrlError(url, "base folder must be absolute");
    splitPath(path, url); // reject '..' in the relative part itself
    path = `${options.baseDir}/${path}`;
  }
  const segments = splitPath(path, url);
  if (segments.length === 0)
    throw new InvalidStorageUrlError(url, "the file system root '/' cannot be a storage root");
  const abs = `/${segments.join("/")}`;
  return { url: `file://${abs}`, scheme: "file", path: abs, prefix: "" };
}

/** Location key and path segments used to compare two roots for equality and nesting. */
function locationOf(root: StorageRoot): { where: string; segments: string[] } {
  switch (root.scheme) {
    case "file":
    case "mem":
      return { where: root.scheme, segments: (root.path ?? "").split("/").filter(Boolean) };
    case "adls":
      return {
        where: `adls:${root.account}/${root.container}`,
        segments: root.prefix.split("/").filter(Boolean),
      };
    default:
      return { where: `${root.scheme}:${root.bucket}`, segments: root.prefix.split("/").filter(Boolean) };
  }
}

/** True when `inner` equals `outer` or lies inside it (same location, path-segment prefix). */
export function rootContains(outer: StorageRoot, inner: StorageRoot): boolean {
  const a = locationOf(outer);
  const b = locationOf(inner);
  if (a.where !== b.where || a.segments.length > b.segments.length) return false;
  return a.segments.every((s, i) => b.segments[i] === s);
}

/**
 * Parses a component's root list and checks it as a whole: every URL valid, no duplicates,
 * no root inside another. Returns the roots in the given order.
 */
export function parseRootList(urls: readonly string[], options: ParseStorageUrlOptions = {}): StorageRoot[] {
  const roots = urls.map((u) => parseStorageUrl(u, options));
  assertDisjointRoots(roots);
  return roots;
}

/** Throws {@link DuplicateRootError} or {@link NestedRootsError} when two roots overlap. */
export function assertDisjointRoots(roots: readonly StorageRoot[]): void {
  for (let i = 0; i < roots.length; i++) {
    for (let j = i + 1; j < roots.length; j++) {
      const a = roots[i] as StorageRoot;
      const b = roots[j] as StorageRoot;
      if (a.url === b.url) throw new DuplicateRootError(a.url);
      if (rootContains(a, b)) throw new NestedRootsError(a.url, b.url);
      if (rootContains(b, a)) throw new NestedRootsError(b.url, a.url);
    }
  }
}
