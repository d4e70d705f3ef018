import { ProximaError } from "@proximadb/core";

/**
 * Why the node refused a request (PascalCase, as every kind in ProximaDB). The HTTP status of each kind
 * is in the error catalogue (`http-errors.ts`): `InvalidArgument` 400, `NotFound` 404,
 * `AlreadyExists` 409, `Unavailable` 503.
 */
export type NodeErrorKind = "InvalidArgument" | "NotFound" | "AlreadyExists" | "Unavailable";

/** A storage root a request needs that may not be used now (the `roots` of an `Unavailable` refusal). */
export interface OfflineRoot {
  readonly component: string;
  readonly url: string;
  /** `missing`, `empty`, `unreachable`, `foreign`, `new` or `unconfigured`. */
  readonly status: string;
  /** What was found there, one line. */
  readonly reason: string;
}

/** A typed refusal of the storage node. Callers branch on {@link NodeError.kind}. */
export class NodeError extends ProximaError {
  readonly kind: NodeErrorKind;
  /** For `Unavailable`: the offline roots the request needs (also in the HTTP error body). */
  readonly roots: readonly OfflineRoot[] | undefined;
  constructor(
    kind: NodeErrorKind,
    message: string,
    options?: { cause?: unknown; roots?: readonly OfflineRoot[] },
  ) {
    super(kind === "Unavailable" ? "STORE_UNAVAILABLE" : "INVALID_ARGUMENT", message, {
      ...(options?.cause === undefined ? {} : { cause: options.cause }),
      retryable: kind === "Unavailable",
    });
    this.kind = kind;
    this.roots = options?.roots;
  }
}

/** The refusal for a collection this node does not serve. */
export function collectionNotFound(id: string): NodeError {
  return new NodeError("NotFound", `collection ${JSON.stringify(String(id))} not found`);
}

/**
 * What an append's failure tells the client: a retryable storage failure (a lost answer of an object
 * store, a time-out) means the records may or may not be durable — 503 `Unavailable`, retry it (puts are
 * idempotent by id). Anything else is passed through.
 */
export function durabilityUnknown(collection: string, err: unknown): unknown {
  if (!(err instanceof ProximaError) || err instanceof NodeError || !err.retryable) return err;
  return new NodeError(
    "Unavailable",
    `the write to ${collection} may or may not be durable (${describe(err)}); retry it`,
    { cause: err },
  );
}

/** A secret-free one-line description of an error for logs. */
export function describe(err: unknown): string {
  if (err instanceof ProximaError) return `${err.name}: ${err.message}`;
  if (err instanceof Error) return err.name;
  return "unknown error";
}
