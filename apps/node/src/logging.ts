import type { Logger } from "pino";

/** How log lines are written: one JSON object per line, or readable lines (pino-pretty). */
export type LogFormat = "json" | "pretty";

/** The choices of `--log-format` and `[log] format`; `auto` is pretty on a terminal, JSON otherwise. */
export const LOG_FORMAT_CHOICES = ["auto", "json", "pretty"] as const;

/** The format to use: the flag wins over the configuration; `auto` looks at whether stdout is a terminal. */
export function resolveLogFormat(
  flag: LogFormat | undefined,
  configured: (typeof LOG_FORMAT_CHOICES)[number],
  isTTY: boolean,
): LogFormat {
  const choice = flag ?? configured;
  if (choice === "auto") return isTTY ? "pretty" : "json";
  return choice;
}

/**
 * The node's logger on stdout. Pretty lines are one event per line (`[time] LEVEL (proximadb): message
 * {fields}`), coloured on a terminal; both formats write synchronously, so the last lines before an exit
 * are not lost. pino-pretty is loaded only when it is used.
 */
export async function createLogger(options: { format: LogFormat; level: string }): Promise<Logger> {
  const { pino } = await import("pino");
  const settings = { name: "proximadb", level: options.level };
  if (options.format === "json") return pino(settings);
  const { default: pretty } = await import("pino-pretty");
  return pino(
    settings,
    pretty({
      destination: 1,
      sync: true,
      colorize: Boolean(process.stdout.isTTY),
      singleLine: true,
      translateTime: "SYS:HH:MM:ss.l",
      ignore: "pid,hostname",
    }),
  );
}
