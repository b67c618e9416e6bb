/**
 * Test helpers shared by the services' tests (not used by production code).
 *
 * - {@link startMosquitto}: a real mosquitto on a free loopback port (never 1883), plain or mTLS
 *   (`require_certificate true`), with `stop()` / `restart()` on the same port.
 * - {@link makeTestPki}: CA + server + client certificates (ECC P-256; RSA on request; a rogue CA for
 *   negative tests) made with openssl at test time in a temp dir.
 * - {@link candumpFrame}, {@link ovdsRows}, {@link until}: Model 3 candump lines with chosen values, OVDS rows read
 *   back, a polling wait.
 *
 * @example
 * ```ts
 * import { makeTestPki, startMosquitto } from "./mod.ts";
 * const pki = await makeTestPki();
 * const broker = await startMosquitto({ pki });
 * console.log(broker.url); // mqtts://127.0.0.1:<port>
 * await broker.close();
 * await pki.remove();
 * ```
 * @module
 */
export {
  freePort,
  makeTestPki,
  type MosquittoOptions,
  startMosquitto,
  type TestBroker,
  type TestPki,
} from "./mosquitto.ts";
export { candumpFrame, hexBytes, model3Message, ovdsRows, until } from "./fixtures.ts";
