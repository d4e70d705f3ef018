import { afterAll } from "vitest";
import { objectStoreBackend, startGcsStore } from "./support/object-stores.js";
import { describeDiscovery, describeFaultProxy } from "./support/suite.js";

const backend = objectStoreBackend("GCS server", startGcsStore);
afterAll(() => backend.cleanup?.());
describeDiscovery(backend, { bigCollections: 1010 });
describeFaultProxy(backend);
