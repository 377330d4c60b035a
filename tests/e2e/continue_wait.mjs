// Cube's JavaScript client (@cubejs-client/core) against a query that runs longer than the
// server's Continue wait: the client must be told "Continue wait", ask again on its own, and
// end with the query's rows.
//
//   node continue_wait.mjs --api http://127.0.0.1:4000/cubejs-api/v1 --token JWT --query JSON --expect JSON
//
// Prints the number of "Continue wait" answers the client saw (its progress callback) and
// exits 1 unless the rows equal --expect and there was at least one.

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const client = require('@cubejs-client/core');
const cubejs = client.default ?? client.cube ?? client;

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, a, i, all) => (a.startsWith('--') ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []),
);
const api = cubejs(args.token, { apiUrl: args.api });
let waits = 0;
const started = Date.now();
try {
  const result = await api.load(JSON.parse(args.query), {
    progressCallback: () => {
      waits += 1;
    },
  });
  const rows = result.rawData();
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const ok = JSON.stringify(rows) === JSON.stringify(JSON.parse(args.expect)) && waits >= 1;
  console.log(`${ok ? 'ok  ' : 'FAIL'} the client got its rows after ${waits} "Continue wait" answers in ${seconds} s: ${JSON.stringify(rows)}`);
  process.exit(ok ? 0 : 1);
} catch (e) {
  console.log(`FAIL the client's load failed after ${waits} "Continue wait" answers: ${e}`);
  process.exit(1);
}
