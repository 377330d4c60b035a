// node-pg against cubec's SQL API: a simple query, a prepared statement with a parameter,
// an error that leaves the connection usable. Prints the rows as JSON for sqlapi_clients.py.
//   node tests/e2e/sqlapi_pg.mjs PORT PASSWORD
import pg from "pg";

const [port, password] = process.argv.slice(2);
const client = new pg.Client({ host: "127.0.0.1", port: Number(port), user: "bi", password, database: "cube" });
await client.connect();
const simple = await client.query({
  text: "SELECT acquisition_channel, MEASURE(active_referrer_rate) FROM referral_kpis WHERE signed_up_at >= '2023-01-01' GROUP BY 1 ORDER BY 2 DESC",
  rowMode: "array",
});
const prepared = await client.query({
  name: "by_channel",
  text: "SELECT channel, MEASURE(count), MEASURE(conversions), MEASURE(referral_conversion_rate) FROM referrals WHERE channel = $1 GROUP BY 1",
  values: ["email"],
  rowMode: "array",
});
// The same prepared statement again, by name.
await client.query({ name: "by_channel", values: ["email"], rowMode: "array" });
let error = null;
try {
  await client.query("SELECT MEASURE(count) FROM no_such_table");
} catch (e) {
  error = e.code;
}
const after = await client.query("SELECT COUNT(*) AS n FROM users");
if (!(Number(after.rows[0].n) > 0)) throw new Error("the connection is unusable after an error");
await client.end();
console.log(JSON.stringify({ simple: simple.rows, prepared: prepared.rows, error }));
