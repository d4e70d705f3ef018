import { describeOnBackends } from "@proximadb/testing-backends";
import { describeViperRoundTrip } from "./round-trip.js";

// S3 through the AWS SDK, against s3rver.
describeOnBackends("VIPER round trips", ["s3"], describeViperRoundTrip);
