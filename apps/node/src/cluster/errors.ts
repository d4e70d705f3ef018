import { NodeError } from "../errors.js";

/**
 * A request for a collection another live node owns. Answered with **307** and `Location` on the
 * owner's advertised URL with the same path and query (standard clients follow it, body included).
 * A `NodeError` of kind `Unavailable`, so code that does not know redirects still sees a retryable refusal.
 */
export class OwnedElsewhereError extends NodeError {
  /** The owner's node id. */
  readonly owner: string;
  /** The owner's advertised base URL (`http://host:port`). */
  readonly ownerUrl: string;
  constructor(collection: string, owner: string, ownerUrl: string) {
    super("Unavailable", `collection ${collection} is served by node ${owner} (${ownerUrl})`);
    this.owner = owner;
    this.ownerUrl = ownerUrl;
  }

  /** Where to send the client: the owner's URL with the request's path and query. */
  location(requestUrl: string): string {
    return new URL(requestUrl, `${this.ownerUrl}/`).toString();
  }
}

/** No owner can serve the collection right now (a takeover or replay in progress, or etcd unreachable). */
export function notServedNow(collection: string, why: string): NodeError {
  return new NodeError("Unavailable", `collection ${collection} is not served right now: ${why}; retry`);
}
