import { describeOnBackends } from "@proximadb/testing-backends";
import { describeViperRoundTrip } from "./round-trip.js";

describeOnBackends("VIPER round trips", ["local"], describeViperRoundTrip);
