#!/usr/bin/env bash
# sluice's --cache judged by the HTTP caching test suite (http-tests/cache-tests,
# the suite behind cache-tests.fyi), with the suite's own client, origin server
# and checks: internal/cmd/cacheproxy answers the client by running sluice
# once per request (--cache, one directory a test, --cache-fresh), as a user
# re-runs it. Prints sluice's figures on the suite's required tests beside the
# browsers' results that the suite ships, then each required test sluice
# fails. Needs node and a checkout of the suite (no network here: bring it
# with the search tool's fetch and `git clone` the mirror), given as
# CACHE_TESTS=DIR. Not part of CI; takes about a minute.
# Usage: CACHE_TESTS=/tmp/cache-tests bash bench/cache-tests.sh [TEST-ID]
source "$(dirname "$0")/lib.sh"
suite=${CACHE_TESTS:?set CACHE_TESTS to a checkout of http-tests/cache-tests}
build sluice . cacheproxy ./internal/cmd/cacheproxy
# The suite's client reads 1xx answers with undici, from the npm registry.
[ -d "$suite/node_modules/undici" ] || (cd "$suite" && npm install --no-save --no-audit --no-fund undici@7 >/dev/null)
mkdir -p "$work/caches"

(cd "$suite" && npm_config_protocol=http npm_config_port=0 npm_config_pidfile="$work/origin.pid" \
	exec node test-engine/server/server.mjs) > "$work/origin.out" 2>&1 &
server_pids+=($!)
for _ in $(seq 100); do grep -q Listening "$work/origin.out" 2>/dev/null && break; sleep 0.05; done
port=$(sed -n 's|.*:\([0-9]*\)/$|\1|p' "$work/origin.out" | head -1)
[ -n "$port" ] || { echo "the suite's origin server did not start:" >&2; cat "$work/origin.out" >&2; exit 1; }
serve PROXY "$work/cacheproxy" -origin "http://127.0.0.1:$port" -sluice "$work/sluice" -dir "$work/caches"

(cd "$suite" && npm_config_base="$PROXY" npm_config_id="${1:-}" npm_package_config_id="" node --no-warnings test-engine/cli.mjs) > "$work/results.json"
if [ -n "${1:-}" ]; then cat "$work/results.json"; exit 0; fi

cat > "$work/count.mjs" <<'JS'
import fs from 'fs'
const suite = process.argv[2]
const { default: tests } = await import(suite + '/tests/index.mjs')
const { determineTestResult } = await import(suite + '/test-engine/lib/results.mjs')
const sluice = JSON.parse(fs.readFileSync(process.argv[3]))
// The required tests that apply to a client's private cache: not those
// for CDNs, not those browsers are excused from (browser_skip).
const all = tests.flatMap(s => s.tests.map(t => ({ ...t, suite: s.id })))
const required = all.filter(t => (t.kind ?? 'required') === 'required' && !t.cdn_only && !t.browser_skip)
const passed = (results, t) => determineTestResult(tests, t.id, results)[2] === '✅'
const row = (name, results) => {
  const ran = required.filter(t => results[t.id] !== undefined)
  console.log(`| ${name} | ${ran.filter(t => passed(results, t)).length} | ${required.length} | ${ran.length} |`)
}
console.log(`| cache | required tests passed | of | run |\n|---|---|---|---|`)
row('sluice --cache', sluice)
for (const b of ['chrome', 'firefox', 'safari']) row(b + ' (the suite\'s results)', JSON.parse(fs.readFileSync(`${suite}/results/${b}.json`)))
console.log('\nrequired tests sluice fails:')
for (const t of required) {
  if (sluice[t.id] !== undefined && !passed(sluice, t)) console.log(`  ${t.suite}/${t.id}: ${JSON.stringify(sluice[t.id])}`)
}
const opt = all.filter(t => t.kind === 'optimal' && !t.cdn_only)
console.log(`\noptimal tests: ${opt.filter(t => sluice[t.id] === true).length} of ${opt.filter(t => sluice[t.id] !== undefined).length} passed`)
JS
cp "$work/results.json" "${RESULTS:-/tmp/cache-tests-results.json}"
node "$work/count.mjs" "$suite" "$work/results.json"
