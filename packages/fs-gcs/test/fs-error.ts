import { FsError } from "@proximadb/core";
import { expect } from "vitest";

/** The FsError `p` rejects with (any kind); fails the test when it resolves or rejects otherwise. */
export async function errorOf(p: Promise<unknown>): Promise<FsError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(FsError);
    return err as FsError;
  }
  throw new Error("expected an FsError");
}
