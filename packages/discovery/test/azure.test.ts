import { afterAll } from "vitest";
import { objectStoreBackend, startAzureStore } from "./support/object-stores.js";
import { describeDiscovery, describeFaultProxy } from "./support/suite.js";

const backend = objectStoreBackend("Azurite", startAzureStore);
afterAll(() => backend.cleanup?.());
describeDiscovery(backend, { bigCollections: 1010 });
describeFaultProxy(backend);
