#!/usr/bin/env bash
# What --trace, --tls-info and --redirect-chain cost (issue 15): sluice as
# shipped against the same binary with all three on, alternating runs, on
#   1. HTTP: 50,000 URLs of ~100 bytes on one local host at -c 64;
#   2. HTTPS: 20,000 URLs on 64 local TLS hosts (HTTP/2, a certificate made
#      at start and trusted with --cacert) at -c 64, so 64 handshakes;
# both on the local site, loopback only. Prints median wall seconds and
# client CPU seconds (user + sys), and the ratio all-on / default.
#   3. a server that waits 200 ms: ttfb_ms and wait_ms show the wait (needs jq).
# Not part of CI. Usage: bash bench/trace.sh   (RUNS=7 for more runs)
source "$(dirname "$0")/lib.sh"
runs=${RUNS:-5}
build sluice . site ./internal/cmd/site
serve base "$work/site"
"$work/site" -ports 64 -tls "$work/ca.pem" > "$work/tls.addrs" &
server_pids+=($!)
for _ in $(seq 100); do [ "$(wc -l < "$work/tls.addrs")" = 64 ] && break; sleep 0.05; done
[ "$(wc -l < "$work/tls.addrs")" = 64 ] || { echo "the TLS site did not start" >&2; exit 1; }
awk -v u="$base/hello" 'BEGIN { for (i = 0; i < 50000; i++) print u "?i=" i }' > "$work/http"
awk '{ h[NR] = $1 } END { for (i = 0; i < 20000; i++) print h[i % NR + 1] "/hello?i=" i }' "$work/tls.addrs" > "$work/https"

# run NAME INPUT ARGS...: one run; appends wall and CPU seconds to files.
run() {
	local name=$1 input=$2
	shift 2
	/usr/bin/time -f '%e %U %S' -o "$work/time" "$work/sluice" -c 64 --cacert "$work/ca.pem" "$@" < "$work/$input" > "$work/out"
	[ "$(wc -l < "$work/out")" = "$(wc -l < "$work/$input")" ] || { echo "$name: lost records" >&2; exit 1; }
	if grep -q '"error"' "$work/out"; then echo "$name: errors in the output" >&2; grep -m 3 '"error"' "$work/out" >&2; exit 1; fi
	awk '{ print $1 }' "$work/time" >> "$work/wall.$name"
	awk '{ print $2 + $3 }' "$work/time" >> "$work/cpu.$name"
}

printf '| scenario | setting | wall s (median) | client CPU s (median) | CPU spread |\n|---|---|---|---|---|\n'
for scenario in http https; do
	for _ in $(seq "$runs"); do
		run "$scenario.default" "$scenario"
		run "$scenario.all-on" "$scenario" --trace --tls-info --redirect-chain
	done
	for setting in default all-on; do
		f=$scenario.$setting
		printf '| %s | %s | %s | %s | %s |\n' "$scenario" "$setting" "$(median < "$work/wall.$f")" "$(median < "$work/cpu.$f")" "$(spread < "$work/cpu.$f")"
	done
done
echo
for scenario in http https; do
	awk -v s="$scenario" -v w0="$(median < "$work/wall.$scenario.default")" -v w1="$(median < "$work/wall.$scenario.all-on")" \
		-v c0="$(median < "$work/cpu.$scenario.default")" -v c1="$(median < "$work/cpu.$scenario.all-on")" \
		'BEGIN { printf "%s: all-on / default: wall %.3f, CPU %.3f\n", s, w1 / w0, c1 / c0 }'
done

echo
echo "## a server that waits 200 ms before answering: ttfb_ms and wait_ms show it"
for i in 1 2 3; do echo "$base/slow/200?i=$i"; done | "$work/sluice" --trace --ordered |
	jq -r '"ttfb_ms \(.timings.ttfb_ms)  wait_ms \(.timings.wait_ms)  total_ms \(.timings.total_ms)  reused \(.timings.reused)"' | tee "$work/slow"
awk '$2 < 200 || $4 < 200 { bad = 1 } END { if (bad) { print "FAIL: a ttfb or wait under 200 ms"; exit 1 } print "ok: every ttfb and wait >= 200 ms" }' "$work/slow"
