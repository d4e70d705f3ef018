import { memoryRoots } from "./helpers.js";
import { describeViperRoundTrip } from "./round-trip.js";

describeViperRoundTrip("memfs", async () => memoryRoots(2));
