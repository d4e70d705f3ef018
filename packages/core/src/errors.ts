/**
 * Typed errors. Callers branch on {@link ProximaError.code} (or `instanceof`), never on message text.
 * Messages name the offending value but never a secret: URLs are passed through {@link redactUrl} first.
 */

/** Every error code this library raises. */
export type ErrorCode =
  | "INVALID_STORAGE_URL"
  | "DUPLICATE_ROOT"
  | "NESTED_ROOTS"
  | "INVALID_COLLECTION_ID"
  | "INVALID_COMPONENT"
  | "EMPTY_ROOT_LIST"
  | "NO_ELIGIBLE_ROOT"
  | "ROOT_OFFLINE"
  | "FOREIGN_ROOT"
  | "DEPLOYMENT"
  | "DATA_CORRUPTION"
  | "UNKNOWN_ROOT"
  | "STORE_CONFLICT"
  | "STORE_UNAVAILABLE"
  | "INVALID_ARGUMENT"
  | "CLOSED"
  | "MOVE"
  | "FS_ERROR";

/** Base class of every error raised by ProximaDB storage packages. */
export class ProximaError extends Error {
  /** Stable machine-readable code. */
  readonly code: ErrorCode;
  /** True when retrying the same operation later may succeed. */
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; retryable?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options?.retryable ?? false;
  }
}

/** A storage URL could not be parsed or is not allowed (unknown scheme, credentials, `..`, …). */
export class InvalidStorageUrlError extends ProximaError {
  /** The offending URL, with any credentials and query removed. */
  readonly url: string;
  constructor(url: string, reason: string) {
    const shown = redactUrl(url);
    super("INVALID_STORAGE_URL", `invalid storage URL ${JSON.stringify(shown)}: ${reason}`);
    this.url = shown;
  }
}

/** The same root appears twice in one component's root list (after normalisation). */
export class DuplicateRootError extends ProximaError {
  readonly url: string;
  constructor(url: string) {
    super("DUPLICATE_ROOT", `storage root ${JSON.stringify(url)} is listed more than once`);
    this.url = url;
  }
}

/** One root of a component lies inside another root of the same component. */
export class NestedRootsError extends ProximaError {
  readonly outer: string;
  readonly inner: string;
  constructor(outer: string, inner: string) {
    super(
      "NESTED_ROOTS",
      `storage root ${JSON.stringify(inner)} lies inside storage root ${JSON.stringify(outer)}; roots of one component must not nest`,
    );
    this.outer = outer;
    this.inner = inner;
  }
}

/** A collection id breaks the {@link CollectionId} rules. */
export class InvalidCollectionIdError extends ProximaError {
  readonly id: string;
  constructor(id: string, reason: string) {
    const shown = id.length > 140 ? `${id.slice(0, 137)}...` : id;
    super("INVALID_COLLECTION_ID", `invalid collection id ${JSON.stringify(shown)}: ${reason}`);
    this.id = shown;
  }
}

/** A component name is not one of the known component types. */
export class InvalidComponentError extends ProximaError {
  readonly component: string;
  constructor(component: string) {
    super(
      "INVALID_COMPONENT",
      `unknown component ${JSON.stringify(component)}; expected one of wal, viper, lsm, index, metadata`,
    );
    this.component = component;
  }
}

/** A component was configured with no storage roots. */
export class EmptyRootListError extends ProximaError {
  readonly component: string;
  constructor(component: string) {
    super("EMPTY_ROOT_LIST", `component ${component} has no storage roots configured`);
    this.component = component;
  }
}

/** Every root is cordoned, offline or full: nowhere to place a new collection. */
export class NoEligibleRootError extends ProximaError {
  readonly component: string;
  constructor(component: string, detail: string) {
    super("NO_ELIGIBLE_ROOT", `no eligible storage root for component ${component}: ${detail}`);
    this.component = component;
  }
}

/**
 * Every root that is not cordoned or offline is full (over its `full_ratio`): nowhere to place a new
 * collection until space is freed or a root is added. Still a {@link NoEligibleRootError}.
 */
export class RootsFullError extends NoEligibleRootError {
  /** The full roots. */
  readonly roots: readonly string[];
  constructor(component: string, roots: readonly string[]) {
    super(component, `every active root is full (${roots.join(", ")})`);
    this.roots = roots;
  }
}

/** The collection's home root is offline; it is not re-placed elsewhere until an operator decides. */
export class RootOfflineError extends ProximaError {
  readonly collection: string;
  readonly component: string;
  readonly url: string;
  constructor(collection: string, component: string, url: string, reason?: string) {
    super(
      "ROOT_OFFLINE",
      reason === undefined
        ? `collection ${collection} (${component}) lives in offline root ${url}; it will not be placed elsewhere until the root is back or an operator releases it`
        : `collection ${collection} (${component}) is not placed while root ${url} is offline: ${reason}`,
      { retryable: true },
    );
    this.collection = collection;
    this.component = component;
    this.url = url;
  }
}

/** A root URL is not in the component's configured root list. */
export class UnknownRootError extends ProximaError {
  readonly url: string;
  constructor(component: string, url: string) {
    super("UNKNOWN_ROOT", `storage root ${JSON.stringify(url)} is not configured for component ${component}`);
    this.url = url;
  }
}

/** A compare-and-set in the assignment store lost and the winner could not be adopted. */
export class StoreConflictError extends ProximaError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("STORE_CONFLICT", message, options);
  }
}

/** The assignment store cannot be reached; no placement is decided while this holds. */
export class StoreUnavailableError extends ProximaError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("STORE_UNAVAILABLE", message, { cause: options?.cause, retryable: true });
  }
}

/** A caller passed a value outside the documented range. */
export class InvalidArgumentError extends ProximaError {
  constructor(message: string) {
    super("INVALID_ARGUMENT", message);
  }
}

/**
 * An operation was called on an engine, log, store or file system after its `close()`.
 * Every package raises this one class for that situation (code `CLOSED`); nothing was touched.
 */
export class ClosedError extends ProximaError {
  /** What was closed: `"wal"`, `"viper engine"`, `"etcd store"`, … */
  readonly subject: string;
  constructor(subject: string, operation?: string, options?: { cause?: unknown }) {
    super(
      "CLOSED",
      operation === undefined ? `${subject} is closed` : `${subject} is closed (${operation})`,
      options,
    );
    this.subject = subject;
  }
}

/**
 * Stored bytes are not what the writer wrote: a bad checksum, footer or frame in a file that should be
 * intact. Every engine raises this one class for that situation (code `DATA_CORRUPTION`), naming the file.
 */
export class DataCorruptionError extends ProximaError {
  /** Root-relative key of the damaged file, when there is one. */
  readonly key: string | undefined;
  /** Canonical URL of the root the file lives in, when known. */
  readonly root: string | undefined;
  constructor(message: string, details: { key?: string; root?: string; cause?: unknown } = {}) {
    super("DATA_CORRUPTION", message, { cause: details.cause });
    this.key = details.key;
    this.root = details.root;
  }
}

/**
 * Removes credentials, query string and fragment from a URL-like string so it can be shown
 * in an error or a log line. Unparseable input is cut at the first `@`, `?` or `#`.
 */
export function redactUrl(url: string): string {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)([^/?#]*)(.*)$/s.exec(url);
  if (!m) return url.replace(/[?#].*$/s, "");
  const [, scheme, authority = "", rest = ""] = m;
  const host = authority.includes("@") ? `***@${authority.slice(authority.lastIndexOf("@") + 1)}` : authority;
  const path = rest.replace(/[?#].*$/s, "");
  return `${scheme}${host}${path}`;
}
