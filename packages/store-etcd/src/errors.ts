import { ClosedError, ProximaError, StoreUnavailableError } from "@proximadb/core";
import { BrokenCircuitError, TaskCancelledError } from "cockatiel";
import {
  ClientClosedError,
  EtcdAuthenticationFailedError,
  EtcdInvalidAuthTokenError,
  EtcdPermissionDeniedError,
  GRPCDeadlineExceededError,
  isRecoverableError,
} from "etcd3";

/** Why an etcd operation failed, when it is not a plain outage ({@link StoreUnavailableError}). */
export type EtcdStoreErrorKind = "AccessDenied" | "InvalidValue";

/**
 * A non-retryable etcd store failure: credentials refused, or a value this version cannot read. Outages are
 * {@link StoreUnavailableError} (retryable) instead; a call after `close()` is core's {@link ClosedError}.
 */
export class EtcdStoreError extends ProximaError {
  readonly kind: EtcdStoreErrorKind;
  /** The etcd key concerned, when there is one. */
  readonly key: string | undefined;
  constructor(kind: EtcdStoreErrorKind, message: string, options: { key?: string; cause?: unknown } = {}) {
    super("STORE_UNAVAILABLE", message, { cause: options.cause, retryable: false });
    this.kind = kind;
    this.key = options.key;
  }
}

/** What a call after `close()` raises: core's {@link ClosedError} (code `CLOSED`), naming the operation. */
export function storeClosed(operation: string, cause?: unknown): ClosedError {
  return new ClosedError("etcd store", operation, { cause });
}

/**
 * Maps whatever the etcd client threw into a typed error. Messages name the operation only: the
 * original error (which may name hosts) is kept as `cause`, and credentials are never in either.
 */
export function toStoreError(err: unknown, operation: string): Error {
  if (err instanceof ProximaError) return err;
  if (err instanceof ClientClosedError) return storeClosed(operation, err);
  if (
    err instanceof EtcdAuthenticationFailedError ||
    err instanceof EtcdPermissionDeniedError ||
    err instanceof EtcdInvalidAuthTokenError
  ) {
    return new EtcdStoreError(
      "AccessDenied",
      `etcd refused the credentials or permissions for ${operation}`,
      { cause: err },
    );
  }
  if (
    (err instanceof Error && isRecoverableError(err)) ||
    err instanceof GRPCDeadlineExceededError ||
    err instanceof BrokenCircuitError ||
    err instanceof TaskCancelledError
  ) {
    return new StoreUnavailableError(`etcd is unavailable (${operation}); no placement was decided`, {
      cause: err,
    });
  }
  // Anything else from the transport is treated as an outage too: never guess a placement.
  return new StoreUnavailableError(`etcd call failed (${operation}); no placement was decided`, {
    cause: err,
  });
}
