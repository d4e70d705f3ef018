import { ProximaError } from "@proximadb/core";

/**
 * Why the node refused a request. The HTTP layer maps kinds to status codes:
 * `invalid` 400, `not-found` 404, `exists` 409, `unavailable` 503.
 */
export type NodeErrorKind = "invalid" | "not-found" | "exists" | "unavailable";

/** A typed refusal of the storage node. Callers branch on {@link NodeError.kind}. */
export class NodeError extends ProximaError {
  readonly kind: NodeErrorKind;
  constructor(kind: NodeErrorKind, message: string, options?: { cause?: unknown }) {
    super(kind === "unavailable" ? "STORE_UNAVAILABLE" : "INVALID_ARGUMENT", message, {
      ...options,
      retryable: kind === "unavailable",
    });
    this.kind = kind;
  }
}
