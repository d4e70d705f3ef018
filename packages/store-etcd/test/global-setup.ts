import { startEtcd } from "@proximadb/testing/emulators/etcd";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    etcdEndpoint: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const etcd = await startEtcd();
  project.provide("etcdEndpoint", etcd.endpoint);
  return () => etcd.stop();
}
