// End-to-end check of `cubec serve` with Cube's own JavaScript client (@cubejs-client/core).
//
//   node client.mjs --api http://127.0.0.1:4000/cubejs-api/v1 --secret S --expected DIR --data DIR
//
// For every `<name>.query.json` in --expected it loads the query through the client and compares
// the rows with `<name>.rows.json` (the same query run by `cubec query --format json` on the
// embedded DuckDB: two engines, one answer); numbers must agree to 1e-9 relative. It also checks
// `sql()` and `meta()`, a count against the raw CSV in --data, that a bad token is refused, and
// access policies for two groups' tokens.
// Exits 1 on the first mismatch, with what differed.

import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

// The package's ES module build imports paths without extensions, which Node refuses; its
// CommonJS build is what Node applications load.
const require = createRequire(import.meta.url);
const client = require('@cubejs-client/core');
const cubejs = client.default ?? client.cube ?? client;

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, a, i, all) => (a.startsWith('--') ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []),
);
for (const required of ['api', 'secret', 'expected', 'data']) {
  if (!args[required]) {
    console.error(`usage: node client.mjs --api URL --secret S --expected DIR --data DIR (missing --${required})`);
    process.exit(2);
  }
}

const b64url = (s) => Buffer.from(s).toString('base64url');
function jwt(payload, secret) {
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64url(JSON.stringify(payload));
  const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

let failures = 0;
function check(ok, what, detail) {
  if (ok) {
    console.log(`ok   ${what}`);
  } else {
    failures += 1;
    console.log(`FAIL ${what}${detail ? `\n     ${detail}` : ''}`);
  }
}

function sameValue(a, b) {
  if (a === b) return true;
  if (a == null || b == null) return a == b;
  const x = Number(a);
  const y = Number(b);
  if (!Number.isNaN(x) && !Number.isNaN(y) && String(a).trim() !== '' && String(b).trim() !== '') {
    return Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(x), Math.abs(y));
  }
  return false;
}

function sameRows(got, want) {
  if (got.length !== want.length) return `${got.length} rows, expected ${want.length}`;
  for (let i = 0; i < want.length; i += 1) {
    const keys = Object.keys(want[i]);
    for (const k of keys) {
      if (!sameValue(got[i][k], want[i][k])) {
        return `row ${i} ${k}: got ${JSON.stringify(got[i][k])}, expected ${JSON.stringify(want[i][k])}`;
      }
    }
    if (Object.keys(got[i]).length !== keys.length) return `row ${i} has keys ${Object.keys(got[i])}, expected ${keys}`;
  }
  return null;
}

const token = jwt({ sub: 'e2e', iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 600 }, args.secret);
const api = cubejs(token, { apiUrl: args.api });

// load: every saved query, rows equal to the embedded engine's.
const names = readdirSync(args.expected).filter((f) => f.endsWith('.query.json')).map((f) => f.replace('.query.json', ''));
check(names.length > 0, `found ${names.length} expected result files`);
for (const name of names) {
  const query = JSON.parse(readFileSync(join(args.expected, `${name}.query.json`), 'utf8'));
  const want = JSON.parse(readFileSync(join(args.expected, `${name}.rows.json`), 'utf8')).data;
  const resultSet = await api.load(query);
  const diff = sameRows(resultSet.rawData(), want);
  check(diff === null && want.length > 0, `load ${name}: ${want.length} rows equal DuckDB's`, diff);
  // The client's own pivoting works on the answer (it reads the annotation and the query).
  const pivot = resultSet.tablePivot();
  check(pivot.length === want.length, `load ${name}: tablePivot() gives ${pivot.length} rows`);
}

// A number worked out from the raw data: users.count is the number of lines in users.csv.
const csvLines = readFileSync(join(args.data, 'users.csv'), 'utf8').split('\n').filter((l) => l.trim() !== '').length - 1;
const users = await api.load({ measures: ['users.count'] });
check(Number(users.rawData()[0]['users.count']) === csvLines, `users.count = ${csvLines} (lines in users.csv)`,
  `got ${JSON.stringify(users.rawData())}`);

// sql: the statement and its aliases, nothing run.
const sqlQuery = await api.sql({ measures: ['users.count'], dimensions: ['users.acquisition_channel'] });
const raw = sqlQuery.rawQuery();
check(typeof sqlQuery.sql() === 'string' && /FROM/i.test(sqlQuery.sql()), 'sql() returns the SELECT', sqlQuery.sql());
check(Object.values(raw.aliasNameToMember).includes('users.count'), 'sql() maps aliases to members',
  JSON.stringify(raw.aliasNameToMember));

// meta: the KPI view and its members, through the client's own Meta helpers.
const meta = await api.meta();
const view = meta.cubes.find((c) => c.name === 'referral_kpis');
check(view && view.type === 'view', 'meta() lists the referral_kpis view');
const measure = meta.resolveMember('referral_kpis.active_referrer_rate', 'measures');
check(measure && measure.title && !measure.error, 'meta().resolveMember finds referral_kpis.active_referrer_rate',
  JSON.stringify(measure));

// A bad token and an unknown member come back as the client's RequestError with the status.
try {
  await cubejs(jwt({ sub: 'x' }, 'wrong-secret'), { apiUrl: args.api }).load({ measures: ['users.count'] });
  check(false, 'a token signed with another secret is refused');
} catch (e) {
  check(e.response?.error === 'Invalid token' && e.status === 403, 'a token signed with another secret is refused (403)', String(e));
}
try {
  await api.load({ measures: ['users.nope'] });
  check(false, 'an unknown member is refused');
} catch (e) {
  check(e.status === 400 && /nope/.test(e.message), 'an unknown member is a 400 naming it', `${e.status} ${e.message}`);
}

// Access policies (the affiliates cube in metrics/advocacy.yml): two tokens of two groups against
// the same server. The referral team sees every affiliate; a partner sees only its own row.
const exp = Math.floor(Date.now() / 1000) + 600;
const affiliateRows = readFileSync(join(args.data, 'affiliates.csv'), 'utf8').split('\n').filter((l) => l.trim() !== '').slice(1)
  .map((l) => l.split(','));
const partnerRow = affiliateRows.find((r) => Number(r[3]) > 0) ?? affiliateRows[0];
const team = cubejs(jwt({ groups: ['referral_team'], exp }, args.secret), { apiUrl: args.api });
const teamRows = (await team.load({ measures: ['affiliates.enrolled'] })).rawData();
check(Number(teamRows[0]['affiliates.enrolled']) === affiliateRows.length,
  `the referral team sees all ${affiliateRows.length} affiliates`, JSON.stringify(teamRows));
const partner = cubejs(jwt({ groups: ['affiliate_partner'], affiliate_id: Number(partnerRow[0]), exp }, args.secret),
  { apiUrl: args.api });
const own = (await partner.load({ measures: ['affiliates.enrolled', 'affiliates.revenue'] })).rawData();
check(Number(own[0]['affiliates.enrolled']) === 1 && sameValue(own[0]['affiliates.revenue'], partnerRow[3]),
  `partner ${partnerRow[0]} sees only its own row (revenue ${partnerRow[3]})`, JSON.stringify(own));
try {
  await partner.load({ measures: ['affiliates.top_affiliate_concentration'] });
  check(false, 'a partner cannot load the program-wide concentration');
} catch (e) {
  check(e.status === 403 && /hidden member/.test(e.message), 'a partner cannot load the program-wide concentration (403)',
    `${e.status} ${e.message}`);
}
const partnerMeta = await partner.meta();
const affiliatesCube = partnerMeta.cubes.find((c) => c.name === 'affiliates');
check(affiliatesCube && !affiliatesCube.measures.some((m) => m.name === 'affiliates.top_affiliate_concentration'),
  "the partner's meta lists affiliates without the program-wide measures");
try {
  await api.load({ measures: ['affiliates.revenue'] });
  check(false, 'a token without a group cannot load affiliates');
} catch (e) {
  check(e.status === 403, 'a token without a group cannot load affiliates (403)', `${e.status} ${e.message}`);
}
check(!(await api.meta()).cubes.some((c) => c.name === 'affiliates'), 'a token without a group does not see affiliates in meta');

console.log(failures === 0 ? '\nall end-to-end checks passed' : `\n${failures} end-to-end check(s) failed`);
process.exit(failures === 0 ? 0 : 1);
