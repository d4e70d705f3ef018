import { EXIT, type GlobalOptions, discoveryProgress, loadConfig } from "./cli-common.js";
import { type LogFormat, createLogger, resolveLogFormat } from "./logging.js";

/** Options of `serve`. */
export interface ServeOptions extends GlobalOptions {
  port?: number;
  host?: string;
  logFormat?: LogFormat;
}

/**
 * `proximadb serve`: discovery, recovery, the engines and the HTTP API until SIGTERM or SIGINT, then a
 * clean shutdown (requests drained, the WAL synced).
 */
export async function serve(opts: ServeOptions): Promise<void> {
  let config = await loadConfig(opts);
  if (opts.port !== undefined || opts.host !== undefined) {
    config = {
      ...config,
      server: {
        ...config.server,
        ...(opts.port === undefined ? {} : { port: opts.port }),
        ...(opts.host ? { host: opts.host } : {}),
      },
    };
  }
  const [
    { NodeMetrics },
    { StorageNode },
    { createHttpServer },
    { describe },
    { startCluster, checkSingleWriter },
  ] = await Promise.all([
    import("./metrics.js"),
    import("./node.js"),
    import("./http.js"),
    import("./errors.js"),
    import("./cluster/start.js"),
  ]);
  const logger = await createLogger({
    format: resolveLogFormat(opts.logFormat, config.log.format, Boolean(process.stdout.isTTY)),
    level: opts.verbose ? "debug" : "info",
  });
  const metrics = new NodeMetrics();
  logger.info({ config: config.source, store: config.assignmentStore.type }, "starting");
  const progress = await discoveryProgress(config, (e) =>
    logger.info(
      { component: e.component, root: e.url, status: e.status, collections: e.collections, files: e.files },
      "root discovered",
    ),
  );
  // One node (memory store): refuse when another one serves these roots, before anything is touched.
  const single = await checkSingleWriter(config, logger);
  let node: Awaited<ReturnType<typeof StorageNode.open>>;
  try {
    node = await StorageNode.open({
      config,
      logger,
      metrics,
      onDiscoveryEvent: progress.onEvent,
      onDiscovered: () => progress.stop(),
    });
  } catch (err) {
    await single?.release();
    throw err;
  } finally {
    progress.stop();
  }
  // The lock by exclusive create: of two nodes started in the same instant only one holds it.
  await single?.hold(node).catch(async (err) => {
    await node.close().catch(() => undefined);
    await single.release();
    throw err;
  });
  logger.info(
    { collections: node.collections().length, orphans: node.orphans.length, timings: node.openTimings },
    "engines open",
  );
  node.startBackground();
  // Root space: measured before the API answers (a full root takes nothing new), then every interval.
  const capacity = await (await import("./capacity.js")).startCapacity(config, node.service, logger);
  metrics.watchRootCapacity(node.service);
  const app = createHttpServer(node, { logger, metrics });
  // A write that ran out of space: measure again now rather than at the next interval.
  app.addHook("onResponse", async (_req, reply) => void (reply.statusCode === 507 && capacity.check()));
  let address: string;
  let cluster: Awaited<ReturnType<typeof startCluster>>;
  try {
    address = await app.listen({ host: config.server.host, port: config.server.port });
    // Several nodes: join once listening (peers redirect here); until then every collection answers 503.
    cluster = await startCluster(node, { config, logger, listening: address });
  } catch (err) {
    await capacity.stop();
    await app.close().catch(() => undefined);
    await node.cluster?.close().catch(() => undefined);
    await node.close();
    await single?.release();
    throw err;
  }
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, "shutting down: draining requests, syncing the WAL");
      (async () => {
        // Hand off first (stop acknowledging, sync the WAL, release every owner key): peers take over now.
        await cluster?.drain().catch((err) => logger.warn({ err: describe(err) }, "handoff incomplete"));
        await app.close();
        await capacity.stop();
        await node.close();
        await cluster?.close();
        await single?.release();
        logger.info("stopped");
      })()
        .catch((err) => {
          logger.error({ err: describe(err) }, "shutdown failed");
          process.exitCode = EXIT.failure;
        })
        .finally(resolve);
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
    // Said once the handlers are in place: a supervisor may send SIGTERM as soon as it reads this line.
    logger.info({ address }, "listening");
  });
}
