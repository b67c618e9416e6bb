/**
 * `deno task obd`: poll OBD-II PIDs and DTCs over SocketCAN (or a simulated ECU) and print one JSON line per value
 * and per diagnostics event.
 *
 * ```
 * deno task obd --interface can0 [--ecu 0] [--extended] [--pids engine_rpm,coolant_temp] [--duration 10]
 * deno task obd --sim [--duration 3]          # a simulated ECU on an in-memory bus: no hardware needed
 * deno task obd --interface can0 --vin        # read the VIN and the DTC lists once, then exit
 * ```
 *
 * Lines: `{"line":"sample","ecu":"7E8","pid":12,"name":"engine_rpm","value":812.5,"unit":"rpm","vss":[…],"ts":"2026-…Z"}`,
 * `{"line":"event","topic":"diagnostics/dtc","type":"new","code":"P0301",…}`; a summary goes to stderr.
 * @module
 */
import { parseArgs } from "node:util";
import { PipelineError } from "../core/errors/mod.ts";
import { type CanLink, MemoryCanBus } from "../core/isotp/mod.ts";
import { formatTime } from "../core/datapoint/mod.ts";
import { EcuSimulator, ObdClient, ObdPoller, pidDef } from "../core/obd/mod.ts";
import { openObdLink } from "../vec/obd.ts";

const HELP = `Usage: deno task obd (--interface IFACE | --sim) [options]

Poll OBD-II PIDs and DTCs; print one JSON line per value and per diagnostics event.

Options:
  -i, --interface IFACE   SocketCAN interface (needs AF_CAN and CAP_NET_RAW)
  --sim                   a simulated ECU on an in-memory bus instead of a real one
  --ecu N                 ECU number 0-7 (11-bit) or address (29-bit); default 0
  --extended              29-bit addressing (0x18DB33F1 / 0x18DAxxF1)
  --pids LIST             PIDs by name or number, comma-separated (default: all supported)
  --dtc-interval MS       DTC read interval (default 5000; 0 = off)
  --duration S            stop after S seconds (default 10; 0 = until Ctrl-C)
  --vin                   read the VIN and the DTC lists once, print them, exit
  --p2 MS                 response timeout (default 250)
  -h, --help              show this help`;

function fail(msg: string): never {
  console.error(`obd: ${msg}`);
  Deno.exit(2);
}

async function main(args: string[]): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      options: {
        interface: { type: "string", short: "i" },
        sim: { type: "boolean" },
        ecu: { type: "string", default: "0" },
        extended: { type: "boolean" },
        pids: { type: "string" },
        "dtc-interval": { type: "string", default: "5000" },
        duration: { type: "string", default: "10" },
        vin: { type: "boolean" },
        p2: { type: "string", default: "250" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    fail((e as Error).message);
  }
  if (values.help) {
    console.log(HELP);
    return;
  }
  if (!values.interface === !values.sim) fail("give exactly one of --interface IFACE or --sim");
  const num = (name: string, v: string, min: number) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) fail(`--${name} must be a number >= ${min}, got ${v}`);
    return n;
  };
  const ecu = num("ecu", values.ecu, 0);
  const dtcInterval = num("dtc-interval", values["dtc-interval"], 0);
  const duration = num("duration", values.duration, 0);
  const p2 = num("p2", values.p2, 1);
  const extended = values.extended ?? false;
  let pids: number[] | undefined;
  try {
    pids = values.pids?.split(",").map((p) => pidDef(/^\d+$/.test(p.trim()) ? Number(p) : p.trim()).pid);
  } catch (e) {
    fail((e as Error).message);
  }

  let link: CanLink & { close(): unknown };
  let sim: EcuSimulator | undefined;
  if (values.sim) {
    const bus = new MemoryCanBus();
    bus.recording = false;
    sim = new EcuSimulator(bus.link(), {
      ecu,
      extended,
      values: { 0x04: 31, 0x05: 88, 0x0c: 812.5, 0x0d: 0, 0x0f: 24, 0x10: 3.2, 0x11: 14, 0x2f: 62, 0xa6: 48211.3 },
      dtcs: { stored: ["P0301"], pending: ["P0171"] },
      vin: "1HGCM82633A004352",
    });
    link = bus.link();
  } else {
    link = openObdLink(values.interface!, { ecus: [ecu], extended });
  }
  const client = new ObdClient(link, { ecu, extended, p2Ms: p2 });
  const print = (o: unknown) => console.log(JSON.stringify(o));
  try {
    if (values.vin) {
      print({ line: "vin", ecu: client.ecu, vin: await client.readVin() });
      for (const s of [0x03, 0x07, 0x0a] as const) {
        try {
          print({ line: "dtcs", ecu: client.ecu, service: s, codes: await client.readDtcs(s) });
        } catch (e) {
          print({ line: "dtcs", ecu: client.ecu, service: s, error: (e as PipelineError).code ?? String(e) });
        }
      }
      return;
    }
    const poller = new ObdPoller([client], {
      pids,
      dtcIntervalMs: dtcInterval,
      onSample: (s) => print({ line: "sample", ...s, ts: formatTime(s.tsMs), tsMs: undefined }),
      onEvent: (e) => print({ line: "event", ...e, ts: formatTime(e.tsMs), tsMs: undefined }),
    });
    poller.start();
    await new Promise<void>((resolve) => {
      if (duration > 0) setTimeout(resolve, duration * 1000);
      else Deno.addSignalListener("SIGINT", () => resolve());
    });
    await poller.stop();
    const st = poller.stats();
    console.error(
      `obd: requests=${st.requests} responses=${st.responses} timeouts=${st.timeouts} ` +
        `negative=${st.negativeResponses} samples=${st.samples} health=${st.health}`,
    );
  } finally {
    client.close();
    sim?.close();
    await link.close();
  }
}

if (import.meta.main) {
  try {
    await main(Deno.args);
    Deno.exit(0);
  } catch (e) {
    if (e instanceof Deno.errors.BrokenPipe) Deno.exit(0);
    const msg = e instanceof Error ? e.message : String(e);
    console.error(`obd: ${msg.split("\n")[0]}`);
    Deno.exit(1);
  }
}
