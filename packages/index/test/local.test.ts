import { localRoots } from "./helpers.js";
import { describeIndexRoundTrip } from "./round-trip.js";

describeIndexRoundTrip("local disk (fs-local)", () => localRoots(2));
