import { describeOnBackends } from "@proximadb/testing-backends";
import { describeDiscovery, describeFaultProxy } from "./support/suite.js";

describeOnBackends("discovery", ["s3"], (b) => {
  describeDiscovery(b, { bigCollections: 1010 });
  describeFaultProxy(b);
});
