import { localRoots } from "./helpers.js";
import { describeViperRoundTrip } from "./round-trip.js";

describeViperRoundTrip("local disk", () => localRoots(2));
