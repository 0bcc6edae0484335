#!/usr/bin/env bash
# Benchmark harness, first part (issue 7): sluice beside the tools its users
# would otherwise use, in the same run, on loopback, alternating runs, $RUNS
# of each (default 3), medians and spread. Writes BENCHMARKS.md.
#   1. throughput: 50,000 URLs to a ~100-byte endpoint at concurrency 64,
#      against wrk's ceiling on the same endpoint;
#   2. latency-bound: 2,000 URLs that each wait 100 ms at concurrency 200
#      (ideal 1.0 s);
#   3. parse: 5,000 pages of ~100 KB with --extract title,links, beside the
#      plain Go pool parsing with goquery (plainpool -extract);
#   4. memory: peak RSS for 10,000 vs 1,000,000 input lines (one run each);
#   5. start-up: one URL, end to end, median of 20 runs.
# References: wrk (ceiling), bench/plainpool (a plain Go worker pool),
# Python asyncio+aiohttp (bench/aiohttp_client.py), and `xargs -P 64 curl`
# (on 2,000 URLs: a process per URL would take minutes on 50,000).
# Installs wrk and python3-aiohttp from Debian when missing (needs root).
# Not part of CI. Still to come: the many-hosts scenario and the plot.
source "$(dirname "$0")/lib.sh"
runs=${RUNS:-3}

if ! command -v wrk >/dev/null || ! /usr/bin/python3 -c 'import aiohttp' 2>/dev/null; then
	apt-get update -qq && apt-get install -y -qq wrk python3-aiohttp >/dev/null
fi
build sluice . site ./internal/cmd/site plainpool ./bench/plainpool
serve base "$work/site"

urls() { awk -v n="$1" -v u="$2" 'BEGIN { for (i = 0; i < n; i++) print u "?i=" i }'; }

# measure KEY INPUT CMD...: one run of CMD on INPUT; appends "wall rssKiB cpu"
# to $work/KEY, and checks one output line per input line.
measure() {
	local key=$1 in=$2
	shift 2
	/usr/bin/time -f '%e %M %U %S' -o "$work/time" "$@" < "$in" > "$work/out" 2> "$work/err" ||
		{ echo "$key failed:" >&2; cat "$work/err" >&2; exit 1; }
	local want got
	want=$(wc -l < "$in")
	got=$(wc -l < "$work/out")
	[ "$want" = "$got" ] || { echo "$key: $got output lines for $want URLs" >&2; exit 1; }
	awk '{ print $1, $2, $3 + $4 }' "$work/time" >> "$work/$key"
}

# row SCENARIO TOOL KEY N REF: a table row from the runs in $work/KEY; REF is
# the req/s (or wall, for the latency scenario) to give a ratio against.
row() {
	local wall rss cpu
	wall=$(awk '{ print $1 }' "$work/$3" | median)
	rss=$(awk '{ print $2 }' "$work/$3" | median)
	cpu=$(awk '{ print $3 }' "$work/$3" | median)
	awk -v s="$1" -v t="$2" -v n="$4" -v w="$wall" -v sp="$(awk '{ print $1 }' "$work/$3" | spread)" \
		-v rss="$rss" -v cpu="$cpu" -v ref="$5" -v mode="${6:-}" 'BEGIN {
		r = n / w
		ratio = (mode == "ideal") ? sprintf("%.2fx ideal", w / ref) : sprintf("%.2f", r / ref)
		printf "| %s | %s | %d | %.2f | %s | %.0f | %s | %.1f | %.2f |\n", s, t, n, w, sp, r, ratio, rss / 1024, cpu
	}'
}

echo "building inputs" >&2
urls 50000 "$base/hello" > "$work/s1"
head -n 2000 "$work/s1" > "$work/s1-2k"
urls 2000 "$base/slow/100" > "$work/s2"
awk -v b="$base" 'BEGIN { for (i = 0; i < 5000; i++) print b "/article/" i }' > "$work/s3"
urls 10000 "$base/hello" > "$work/s4-10k"
urls 1000000 "$base/hello" > "$work/s4-1m"
echo "$base/page/1" > "$work/s5"
cpus=$(nproc)
curl_fmt='{"url":"%{url_effective}","status":%{http_code},"ms":%{time_total}}\n'

: > "$work/wrk"
for i in $(seq "$runs"); do
	echo "run $i of $runs" >&2
	measure s1-sluice "$work/s1" "$work/sluice" -c 64 --host-concurrency 64
	measure s1-plain "$work/s1" "$work/plainpool" -c 64
	measure s1-aiohttp "$work/s1" /usr/bin/python3 bench/aiohttp_client.py 64
	measure s1-curl "$work/s1-2k" xargs -P 64 -n 1 curl -s -o /dev/null -w "$curl_fmt"
	wrk -t 2 -c 64 -d 5s "$base/hello" | awk '/Requests\/sec/ { print $2 }' >> "$work/wrk"
	measure s2-sluice "$work/s2" "$work/sluice" -c 200 --host-concurrency 200
	measure s2-plain "$work/s2" "$work/plainpool" -c 200
	measure s2-aiohttp "$work/s2" /usr/bin/python3 bench/aiohttp_client.py 200
	measure s3-sluice "$work/s3" "$work/sluice" -c 16 --host-concurrency 16 --extract title,links
	measure s3-plain "$work/s3" "$work/plainpool" -c 16 -extract
done
echo "memory runs" >&2
for n in 10k 1m; do
	measure "s4-sluice-$n" "$work/s4-$n" "$work/sluice" -c 64 --host-concurrency 64
	measure "s4-plain-$n" "$work/s4-$n" "$work/plainpool" -c 64
done
# startup KEY CMD...: one run of CMD on the one-URL input, in ms
# ($EPOCHREALTIME: /usr/bin/time counts in 10 ms steps).
startup() {
	local key=$1 t0 t1
	shift
	t0=$EPOCHREALTIME
	"$@" < "$work/s5" > /dev/null 2>&1
	t1=$EPOCHREALTIME
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f\n", (b - a) * 1000 }' >> "$work/$key"
}
echo "start-up runs" >&2
for _ in $(seq 20); do
	startup s5-sluice "$work/sluice"
	startup s5-plain "$work/plainpool" -c 1
	startup s5-aiohttp /usr/bin/python3 bench/aiohttp_client.py 1
	startup s5-curl xargs -n 1 curl -s -o /dev/null -w "$curl_fmt"
done
wrk_rps=$(median < "$work/wrk")

{
	echo "# Benchmarks"
	echo
	echo "Made by \`bash bench/run.sh\` (RUNS=$runs) on $(date -u +%Y-%m-%d): $(nproc) cores, $(go version | awk '{ print $3 }'),"
	echo "the local site on loopback sharing the cores. Medians of $runs alternating runs; spread is min–max wall."
	echo
	echo "| scenario | tool | URLs | median wall s | spread s | req/s | ratio | peak RSS MiB | CPU s |"
	echo "|---|---|---|---|---|---|---|---|---|"
	printf '| 1. throughput, -c 64 | wrk -t2 -c64 -d5s (ceiling) | – | 5.00 | – | %.0f | 1.00 | – | – |\n' "$wrk_rps"
	row "1. throughput, -c 64" sluice s1-sluice 50000 "$wrk_rps"
	row "1. throughput, -c 64" "plain Go pool" s1-plain 50000 "$wrk_rps"
	row "1. throughput, -c 64" "asyncio+aiohttp" s1-aiohttp 50000 "$wrk_rps"
	row "1. throughput, -c 64" "xargs -P 64 curl" s1-curl 2000 "$wrk_rps"
	row "2. latency-bound, 100 ms, -c 200" sluice s2-sluice 2000 1.0 ideal
	row "2. latency-bound, 100 ms, -c 200" "plain Go pool" s2-plain 2000 1.0 ideal
	row "2. latency-bound, 100 ms, -c 200" "asyncio+aiohttp" s2-aiohttp 2000 1.0 ideal
	row "3. parse 100 KB pages, -c 16" "sluice --extract title,links" s3-sluice 5000 "$(awk '{ print 5000 / $1 }' "$work/s3-plain" | median)"
	row "3. parse 100 KB pages, -c 16" "plain Go pool + goquery" s3-plain 5000 "$(awk '{ print 5000 / $1 }' "$work/s3-plain" | median)"
	row "4. memory, 10,000 lines" sluice s4-sluice-10k 10000 "$wrk_rps"
	row "4. memory, 1,000,000 lines" sluice s4-sluice-1m 1000000 "$wrk_rps"
	row "4. memory, 10,000 lines" "plain Go pool" s4-plain-10k 10000 "$wrk_rps"
	row "4. memory, 1,000,000 lines" "plain Go pool" s4-plain-1m 1000000 "$wrk_rps"
	echo
	echo "| 5. start-up, one URL end to end | median ms | spread ms |"
	echo "|---|---|---|"
	for t in sluice plain aiohttp curl; do
		printf '| %s | %s | %s |\n' "$t" "$(median < "$work/s5-$t")" "$(spread < "$work/s5-$t")"
	done
	echo
	echo "Ratio: req/s over wrk's for throughput and memory; over the plain Go pool + goquery for parse;"
	echo "wall over the ideal 1.0 s for the latency-bound run."
	echo "Parsing runs on $cpus cores shared with the server. Peak RSS of xargs curl is xargs' own, not its curls'."
	echo "sluice runs with --host-concurrency equal to -c: its default is -c/4 per host (politeness)."
} > BENCHMARKS.md
cat BENCHMARKS.md
