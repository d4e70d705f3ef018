import { ProximaError } from "@proximadb/core";

/**
 * Why the node refused a request (PascalCase, as every kind in ProximaDB). The HTTP status of each kind
 * is in the error catalogue (`http-errors.ts`): `InvalidArgument` 400, `NotFound` 404,
 * `AlreadyExists` 409, `Unavailable` 503.
 */
export type NodeErrorKind = "InvalidArgument" | "NotFound" | "AlreadyExists" | "Unavailable";

/** A typed refusal of the storage node. Callers branch on {@link NodeError.kind}. */
export class NodeError extends ProximaError {
  readonly kind: NodeErrorKind;
  constructor(kind: NodeErrorKind, message: string, options?: { cause?: unknown }) {
    super(kind === "Unavailable" ? "STORE_UNAVAILABLE" : "INVALID_ARGUMENT", message, {
      ...options,
      retryable: kind === "Unavailable",
    });
    this.kind = kind;
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
