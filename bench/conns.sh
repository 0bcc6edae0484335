#!/usr/bin/env bash
# Thousands of connections (issue 17, scenario 2): 20,000 URLs over 5,000
# hosts (the local site on 5,000 loopback ports) whose answers take 1 s, at
# -c 5000, so about 5,000 connections are open at once. sluice beside the
# plain Go pool and Python asyncio+aiohttp, alternating, $RUNS each (default
# 3): wall against the ideal 4 s, peak RSS, and RSS per open connection over
# a 1-URL run's baseline. httpx is not here: the module proxy refuses it.
# Needs an open-files hard limit of about 16,000 (both processes hold 5,000
# connections; the site holds 5,000 listeners besides). Not part of CI.
# Usage: bash bench/conns.sh   (RUNS=5 for more; SLUICE_ARGS for extra flags)
source "$(dirname "$0")/lib.sh"
runs=${RUNS:-3}
build sluice . site ./internal/cmd/site plainpool ./bench/plainpool
"$work/site" -ports 5000 > "$work/ports" &
server_pids+=($!)
for _ in $(seq 200); do [ "$(wc -l < "$work/ports")" = 5000 ] && break; sleep 0.05; done
[ "$(wc -l < "$work/ports")" = 5000 ] || { echo "the site did not start 5,000 ports" >&2; exit 1; }
awk '{ h[NR] = $1 } END { for (i = 0; i < 20000; i++) print h[i % NR + 1] "/slow/1000?i=" i }' "$work/ports" > "$work/in"
head -1 "$work/in" > "$work/one"

# run KEY INPUT CMD...: appends "wall peakRSS_KiB" to $work/KEY.
run() {
	local key=$1 input=$2
	shift 2
	/usr/bin/time -f '%e %M' -o "$work/time" "$@" < "$work/$input" > "$work/out" 2> "$work/err"
	[ "$(wc -l < "$work/out")" = "$(wc -l < "$work/$input")" ] || { echo "$key: lost records" >&2; cat "$work/err" >&2; exit 1; }
	if grep -q '"error"' "$work/out"; then echo "$key: errors" >&2; grep -m 3 '"error"' "$work/out" >&2; exit 1; fi
	cat "$work/time" >> "$work/r.$key"
}
for _ in $(seq "$runs"); do
	run sluice in "${SLUICE:-$work/sluice}" -c 5000 ${SLUICE_ARGS:-}
	run plain in "$work/plainpool" -c 5000
	run sluice.one one "${SLUICE:-$work/sluice}" -c 5000 ${SLUICE_ARGS:-}
	run plain.one one "$work/plainpool" -c 5000
	if [ -z "${NO_AIOHTTP:-}" ]; then run aiohttp in /usr/bin/python3 bench/aiohttp_client.py 5000; fi
	if [ -z "${NO_AIOHTTP:-}" ]; then run aiohttp.one one /usr/bin/python3 bench/aiohttp_client.py 5000; fi
done
printf '| tool | wall s (median) | x ideal 4 s | peak RSS MiB (median) | KB per open connection |\n|---|---|---|---|---|\n'
for tool in sluice plain aiohttp; do
	[ -s "$work/r.$tool" ] || continue
	wall=$(awk '{ print $1 }' "$work/r.$tool" | median)
	rss=$(awk '{ print $2 }' "$work/r.$tool" | median)
	base=$(awk '{ print $2 }' "$work/r.$tool.one" | median)
	awk -v t="$tool" -v w="$wall" -v r="$rss" -v b="$base" \
		'BEGIN { printf "| %s | %.2f | %.2f | %.0f | %.1f |\n", t, w, w / 4, r / 1024, (r - b) * 1.024 / 5000 }'
done
