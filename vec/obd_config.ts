/**
 * The `obd` section of the VEC's `config.json` as a zod schema, part of the one typed VEC config schema
 * (`vec/config.ts`). It needs only zod and core/obd's PID table (for PID names), so that the OBD-II runner
 * (`vec/obd.ts`, with its SocketCAN link) is still loaded only when OBD is configured.
 *
 * @example
 * ```ts
 * import { parseObdConfig } from "./obd_config.ts";
 * const obd = parseObdConfig({ enabled: true, pids: ["engine_rpm"], rates: { engine_rpm: 100 } });
 * console.log(obd.ecus, obd.dtc_interval_ms); // [ 0 ] 10000
 * ```
 * @module
 */
import { z } from "zod";
import { PipelineError } from "../core/errors/mod.ts";
import { pidDef } from "../core/obd/mod.ts";

const pidKey = z.union([z.number().int().min(0).max(255), z.string().min(1)]);

/** The reason `pid` (a number or name) is not a known PID, or undefined. */
function unknownPid(pid: number | string): string | undefined {
  try {
    pidDef(typeof pid === "string" && /^\d+$/.test(pid) ? Number(pid) : pid);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** The schema of the `obd` section. */
export const obdConfigSchema = z.strictObject({
  /** Poll OBD-II PIDs and DTCs. */
  enabled: z.boolean().default(false),
  /** SocketCAN interface (default: `can.interface`). */
  interface: z.string().min(1).optional(),
  /** ECUs to poll: numbers 0-7 (11-bit, 0x7E0+n) or addresses (29-bit, e.g. 16 for 0x18DA10F1). */
  ecus: z.array(z.number().int().min(0).max(255)).min(1).default([0]),
  /** 29-bit addressing (0x18DB33F1 / 0x18DAxxF1). */
  extended: z.boolean().default(false),
  /** PIDs to poll by name or number; default: every known PID the ECU supports. */
  pids: z.array(pidKey).optional(),
  /** Polling interval per PID in ms, by name or number (defaults: rpm 100, coolant 1000, …). */
  rates: z.record(z.string(), z.number().int().min(10)).optional(),
  /** DTC read interval in ms (0 disables). */
  dtc_interval_ms: z.number().int().min(0).default(10_000),
  /** DTC services: 3 stored, 7 pending, 10 permanent. */
  dtc_services: z.array(z.union([z.literal(3), z.literal(7), z.literal(10)])).default([3, 7]),
  /** Bus-load limit over all ECUs. */
  max_requests_per_second: z.number().positive().max(1000).default(50),
  /** Response timeout (P2) in ms. */
  p2_ms: z.number().int().min(1).default(250),
  /** Consecutive failures before `diagnostics/health` says `no_response`. */
  failure_threshold: z.number().int().min(1).default(3),
  /** Read the VIN (service 09) at start. */
  read_vin: z.boolean().default(true),
}).superRefine((cfg, ctx) => {
  (cfg.pids ?? []).forEach((p, i) => {
    const why = unknownPid(p);
    if (why) ctx.addIssue({ code: "custom", path: ["pids", i], message: why });
  });
  for (const k of Object.keys(cfg.rates ?? {})) {
    const why = unknownPid(k);
    if (why) ctx.addIssue({ code: "custom", path: ["rates", k], message: why });
  }
  if (!cfg.extended) {
    cfg.ecus.forEach((e, i) => {
      if (e > 7) {
        ctx.addIssue({ code: "custom", path: ["ecus", i], message: `ECU ${e}: 11-bit OBD ECUs are numbered 0-7` });
      }
    });
  }
});

/** A validated `obd` section. */
export type ObdConfig = z.infer<typeof obdConfigSchema>;

/**
 * Validates an `obd` section on its own (the VEC validates it as part of `config.json`).
 * @throws PipelineError `config.invalid` naming the first bad key (`obd.rates.engine_rpm`, …)
 */
export function parseObdConfig(input: unknown, options: { source?: string } = {}): ObdConfig {
  const r = obdConfigSchema.safeParse(input ?? {});
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => `obd.${i.path.join(".")}: ${i.message}`);
  const first = ["obd", ...(r.error.issues[0]?.path ?? [])].join(".");
  throw new PipelineError("config.invalid", `${options.source ?? "config"}: ${issues.join("; ")}`, { path: first });
}
