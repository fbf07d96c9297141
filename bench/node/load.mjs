// One load scenario with autocannon, for bench/loadgen.py:   node load.mjs < spec.json
//
// JSON: {url, method, headers, body, connections, duration, variants: [{headers?, body?}]}
// `variants` (optional) are merged into successive requests in turn (e.g. many tokens or clients).
// bench/loadgen.py runs it once for the warm-up (output ignored), then once for the measurement.
// Prints one JSON object: requests per second (mean; median and minimum over the whole seconds), exact
// latency percentiles (ms) of every response (autocannon's own histogram has 1 ms resolution), status
// counts, errors and timeouts.
//
// Collect mode, {url, method, headers, body, connections, collect: "access_token", amount: N}: N requests
// (used to mint distinct tokens fast); prints {"values": [...]}, the `collect` field of each 200 answer.
import autocannon from 'autocannon';

let input = '';
for await (const chunk of process.stdin) input += chunk;
const spec = JSON.parse(input);

function options(seconds) {
  const variants = spec.variants ?? [];
  let next = 0;
  const request = { method: spec.method ?? 'GET', headers: spec.headers ?? {}, body: spec.body };
  if (variants.length) {
    request.setupRequest = (req) => {
      const variant = variants[next++ % variants.length];
      return { ...req, headers: { ...req.headers, ...(variant.headers ?? {}) }, body: variant.body ?? req.body };
    };
  }
  return {
    url: spec.url,
    connections: spec.connections,
    duration: seconds,
    timeout: 30,
    requests: [request],
  };
}

function run(seconds, latencies) {
  return new Promise((resolve, reject) => {
    const instance = autocannon(options(seconds), (error, result) => (error ? reject(error) : resolve(result)));
    instance.on('response', (_client, _status, _bytes, ms) => latencies.push(ms));
  });
}

function percentile(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

if (spec.collect) {
  const values = [];
  const request = {
    method: spec.method ?? 'GET', headers: spec.headers ?? {}, body: spec.body,
    onResponse: (status, body) => { if (status === 200) values.push(JSON.parse(body)[spec.collect]); },
  };
  await new Promise((resolve, reject) => autocannon(
    { url: spec.url, connections: spec.connections, amount: spec.amount, timeout: 30, requests: [request] },
    (error, result) => (error ? reject(error) : resolve(result)),
  ));
  // exit only once the pipe has taken everything (process.exit would cut the output at 64 KiB)
  await new Promise((resolve) => process.stdout.write(JSON.stringify({ values }) + '\n', resolve));
  process.exit(0);
}

const latencies = [];
const result = await run(spec.duration, latencies);
latencies.sort((a, b) => a - b);
const perSecond = result.requests;
process.stdout.write(JSON.stringify({
  seconds: result.duration,
  total: result.requests.total,
  requests_per_second_mean: result.requests.mean,
  requests_per_second_median: perSecond.p50,
  requests_per_second_min: perSecond.min,
  latency_ms: {
    p50: percentile(latencies, 50),
    p90: percentile(latencies, 90),
    p99: percentile(latencies, 99),
    max: latencies.at(-1) ?? null,
    mean: latencies.length ? latencies.reduce((a, b) => a + b, 0) / latencies.length : null,
  },
  status: Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, v]) => [code, v.count])),
  non2xx: result.non2xx,
  errors: result.errors,
  timeouts: result.timeouts,
}) + '\n');
