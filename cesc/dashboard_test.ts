// The dashboard in a real headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core over
// the DevTools protocol) against a real CESC filled over HTTP. Saves docs/dashboard.png.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { postIngest, withCesc } from "../testing/cesc.ts";

const CHROMIUM = "/usr/bin/chromium";
// The README's picture is refreshed with UPDATE_SCREENSHOTS=1 deno task test; otherwise the screenshot goes to a
// temp file, so a test run leaves the tree clean.
const SCREENSHOT = Deno.env.get("UPDATE_SCREENSHOTS") === "1"
  ? new URL("../docs/dashboard.png", import.meta.url)
  : new URL(`file://${Deno.makeTempDirSync({ prefix: "dashboard_shot_" })}/dashboard.png`);
const hasChromium = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();
if (!hasChromium) {
  console.warn(`dashboard browser test skipped: ${CHROMIUM} not found (apt-get install -y chromium; .ci/run does)`);
}

const BASE = Date.parse("2024-03-01T08:00:00Z");
const at = (ms: number) => new Date(BASE + ms).toISOString();

/** A drive: speed and state of charge every second, door events. */
function drive(from: number, n: number) {
  const speed = [], soc = [];
  for (let i = from; i < from + n; i++) {
    const v = 50 + 35 * Math.sin(i / 14) + 8 * Math.sin(i / 3.1);
    speed.push({ value: v.toFixed(1), ts: at(i * 1000) });
    soc.push({ value: (80 - i * 0.05).toFixed(2), ts: at(i * 1000) });
  }
  return [
    { path: "Vehicle.Speed", dp: speed },
    { path: "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current", dp: soc },
  ];
}

interface Browser {
  ws: string;
  close(): Promise<void>;
}

/** Starts Chromium headless with a fresh profile and DevTools on a loopback port chosen by Chromium. */
async function launchChromium(): Promise<Browser> {
  const profile = await Deno.makeTempDir({ prefix: "cesc_dashboard_chromium_" });
  const child = new Deno.Command(CHROMIUM, {
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--user-data-dir=${profile}`,
      "--remote-debugging-address=127.0.0.1",
      "--remote-debugging-port=0",
      "about:blank",
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let log = "";
  let ws = "";
  while (!ws) {
    const { value, done } = await reader.read();
    if (done) break;
    log += value;
    ws = /DevTools listening on (ws:\/\/\S+)/.exec(log)?.[1] ?? "";
  }
  // Keep draining stderr so Chromium never blocks on a full pipe.
  const drained = (async () => {
    for (;;) if ((await reader.read()).done) break;
  })();
  const close = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    await child.status;
    await drained;
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  };
  if (!ws) {
    await close();
    throw new Error(`chromium did not start: ${log.slice(-500)}`);
  }
  return { ws, close };
}

Deno.test({
  name: "dashboard: real Chromium shows the vehicle list and a chart with every point, then refreshes live",
  ignore: !hasChromium,
  fn: async () => {
    await withCesc(async (cesc) => {
      let chromiumProc: Browser | undefined;
      try {
        const posts = [
          { vin: "TESTVIN01", data: drive(0, 120) },
          { vin: "TESTVIN02", data: drive(0, 40) },
          {
            vin: "TESTVIN03",
            data: { path: "Vehicle.Cabin.Door.Row1.DriverSide.IsOpen", dp: { value: "true", ts: at(3000) } },
          },
        ];
        for (const p of posts) assert.equal((await postIngest(cesc.url, p)).status, 200);

        chromiumProc = await launchChromium();
        const browser = await chromium.connectOverCDP(chromiumProc.ws);
        try {
          const context = browser.contexts()[0];
          const page = await context.newPage();
          await page.setViewportSize({ width: 1280, height: 620 });
          const failed: string[] = [];
          page.on("requestfailed", (r) => failed.push(r.url()));
          page.on("pageerror", (e) => failed.push(`pageerror: ${e.message}`));
          page.on("console", (m) => {
            if (m.type() === "error") failed.push(`console: ${m.text()}`);
          });
          // Offline guarantee: any request that leaves the CESC fails the test.
          await page.route("**/*", (route) => {
            if (route.request().url().startsWith(cesc.url)) return route.continue();
            failed.push(`external: ${route.request().url()}`);
            return route.abort();
          });
          const paths = "Vehicle.Speed,Vehicle.Powertrain.TractionBattery.StateOfCharge.Current";
          await page.goto(`${cesc.url}ui?vin=TESTVIN01&paths=${paths}&refresh=300`);
          await page.waitForSelector("body[data-ready=true]").catch((e) => {
            throw new Error(`the dashboard did not load: ${failed.join("; ") || e.message}`);
          });

          const vins = await page.$$eval("#vehicles tbody tr", (rows) => rows.map((r) => r.getAttribute("data-vin")));
          assert.deepEqual(vins, ["TESTVIN01", "TESTVIN02", "TESTVIN03"]);
          const counts = await page.$$eval(
            "#vehicles tbody tr td:nth-child(2)",
            (tds) => tds.map((t) => t.textContent),
          );
          assert.deepEqual(counts, ["240", "80", "1"]);
          const signals = await page.$$eval(
            "#signals tbody tr",
            (rows) => rows.map((r) => r.getAttribute("data-path")),
          );
          assert.deepEqual(signals, ["Vehicle.Powertrain.TractionBattery.StateOfCharge.Current", "Vehicle.Speed"]);

          // The chart: uPlot drew both series over all 120 timestamps.
          await page.waitForSelector('#chart[data-points="120"][data-series="2"] canvas');
          const legend = await page.$$eval("#chart .u-legend .u-series .u-label", (ls) => ls.map((l) => l.textContent));
          assert.deepEqual(legend.slice(1), paths.split(","));

          // Live: 30 more seconds of driving appear without reloading the page.
          assert.equal((await postIngest(cesc.url, { vin: "TESTVIN01", data: drive(120, 30) })).status, 200);
          await page.waitForSelector('#chart[data-points="150"]');
          await page.waitForFunction(
            `document.querySelector('#vehicles tr[data-vin="TESTVIN01"] td:nth-child(2)')?.textContent === "300"`,
          );
          // Backlog from /metrics: nothing forwarded yet (flush timer 1 h), 240 + 80 + 1 + 60 stored.
          await page.waitForFunction(`document.querySelector("#backlog")?.textContent === "381"`);

          // Ingest rate from the /metrics counters: the 60 new data points arrived after the page loaded.
          await page.waitForFunction(
            `Number(document.querySelector("#rate-ingest").textContent.replace(/,/g, "")) > 0`,
          );
          await page.click("#live"); // stop polling: a still screenshot
          await Deno.mkdir(new URL("./", SCREENSHOT), { recursive: true });
          await page.screenshot({ path: fileURLToPath(SCREENSHOT), fullPage: true });
          assert.ok(Deno.statSync(SCREENSHOT).size > 10_000, "a real picture was saved");
          if (Deno.env.get("UPDATE_SCREENSHOTS") !== "1") {
            Deno.removeSync(new URL("./", SCREENSHOT), { recursive: true });
          }
          // Another vehicle: its first numeric signal is charted.
          await page.click('#vehicles tr[data-vin="TESTVIN02"]');
          await page.waitForSelector('#chart[data-points="40"][data-series="1"]');
          assert.equal(await page.textContent("#signals-vin"), "TESTVIN02");
          assert.deepEqual(failed, []);
          await page.close();
        } finally {
          await browser.close();
        }
      } finally {
        await chromiumProc?.close();
      }
    });
  },
});

Deno.test({
  name: "dashboard: with a read token the page asks for it, then shows the fleet",
  ignore: !hasChromium,
  fn: async () => {
    await withCesc(async (cesc) => {
      let chromiumProc: Browser | undefined;
      try {
        assert.equal((await postIngest(cesc.url, { vin: "TOKENVIN1", data: drive(0, 10) })).status, 200);
        chromiumProc = await launchChromium();
        const browser = await chromium.connectOverCDP(chromiumProc.ws);
        try {
          const page = await browser.contexts()[0].newPage();
          await page.goto(`${cesc.url}ui?refresh=300`);
          await page.waitForSelector("#token-form:not([hidden])");
          assert.equal(await page.textContent("#status"), "read token needed");
          assert.equal(await page.$$eval("#vehicles tbody tr[data-vin]", (rows) => rows.length), 0);
          await page.fill("#token", "fleet-secret");
          await page.click("#token-form button");
          await page.waitForSelector('#vehicles tbody tr[data-vin="TOKENVIN1"]');
          await page.waitForSelector('#chart[data-points="10"]');
          await page.close();
        } finally {
          await browser.close();
        }
      } finally {
        await chromiumProc?.close();
      }
    }, { readToken: "fleet-secret" });
  },
});
