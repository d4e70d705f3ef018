import { memoryRoots } from "./helpers.js";
import { describeIndexRoundTrip } from "./round-trip.js";

describeIndexRoundTrip("memfs (fs-memory)", async () => memoryRoots(2));
