// The retry settings the adapter hands to the SDK's pipeline: the SDK's own default (4 s base, so the
// second retry of a throttled request waited 4 s and the third 12 s) is replaced by a 100 ms base, and a
// partial override (the node passes only `maxTries`) keeps the rest of the adapter's defaults.
import { describe, expect, it } from "vitest";
import { azureRetryOptions, DEFAULT_AZURE_RETRY_OPTIONS } from "../src/index.js";

describe("Azure retry settings", () => {
  it("default to 8 tries from 100 ms, capped at 2 s, with a 60 s server-side try timeout", () => {
    expect(azureRetryOptions()).toEqual({
      maxTries: 8,
      retryDelayInMs: 100,
      maxRetryDelayInMs: 2000,
      tryTimeoutInMs: 60_000,
    });
    expect(azureRetryOptions()).toEqual(DEFAULT_AZURE_RETRY_OPTIONS);
  });

  it("merge a partial override over the defaults instead of falling back to the SDK's 4 s base", () => {
    expect(azureRetryOptions({ maxTries: 3 })).toEqual({ ...DEFAULT_AZURE_RETRY_OPTIONS, maxTries: 3 });
    expect(azureRetryOptions({ maxTries: undefined, retryDelayInMs: 5 })).toEqual({
      ...DEFAULT_AZURE_RETRY_OPTIONS,
      retryDelayInMs: 5,
    });
  });
});
