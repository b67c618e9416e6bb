import assert from "node:assert/strict";
import { parseWrk } from "./bench_cesc.ts";

Deno.test("bench_cesc: reads requests, errors and latency percentiles from wrk's --latency report", () => {
  const report = `Running 5s test @ http://127.0.0.1:8000/
  2 threads and 10 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.06ms    1.34ms   1.20s    93.67%
    Req/Sec     2.53k   631.29     3.70k    69.17%
  Latency Distribution
     50%  790.00us
     75%    2.30ms
     90%    2.91ms
     99%    7.73ms
  30241 requests in 6.01s, 5.28MB read
  Non-2xx or 3xx responses: 12
Requests/sec:   5033.60
Transfer/sec:      0.88MB
`;
  assert.deepEqual(parseWrk(report), { requests: 30241, non2xx: 12, p50: 0.79, p99: 7.73, max: 1200 });
  assert.equal(parseWrk(report.replace(/\s+Non-2xx.*\n/, "\n")).non2xx, 0);
});
