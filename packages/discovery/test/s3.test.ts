import { afterAll } from "vitest";
import { objectStoreBackend, startS3Store } from "./support/object-stores.js";
import { describeDiscovery, describeFaultProxy } from "./support/suite.js";

const backend = objectStoreBackend("s3rver", startS3Store);
afterAll(() => backend.cleanup?.());
describeDiscovery(backend, { bigCollections: 1010 });
describeFaultProxy(backend);
