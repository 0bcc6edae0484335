#!/usr/bin/env bash
# Benchmark harness, first part (issue 7): sluice beside the tools its users
# would otherwise use, in the same run, on loopback, alternating runs, $RUNS
# of each (default 3), medians and spread. Writes BENCHMARKS.md, keeping
# its hand-written part from "## Design decisions" on.
#   1. throughput: 50,000 URLs to a ~100-byte endpoint at concurrency 64,
#      against wrk's ceiling on the same endpoint;
#   2. latency-bound: 2,000 URLs that each wait 100 ms at concurrency 200
#      (ideal 1.0 s);
#   3. parse: 5,000 pages of ~100 KB with --extract title,links, beside the
#      plain Go pool parsing with goquery (plainpool -extract);
#   4. memory: peak RSS for 10,000, 100,000 and 1,000,000 input lines (one
#      run each; 100,000 shows where a long run levels off);
#   5. start-up: one URL, end to end, median of 20 runs;
#   6. many hosts: 20,000 URLs over 200 loopback ports (200 hosts to sluice),
#      shuffled, --host-rate 20: total time against the ideal the limits
#      allow, and per host the most requests in any one second and when its
#      last record came (fairness);
#   7. a sweep for the plot: throughput at concurrency 1..256, one run per
#      point, drawn to bench/throughput.png with gnuplot;
#   8-10. web scale, by their own scripts: TLS over 5,000 hosts
#      (bench/tls.sh), 5,000 open connections (bench/conns.sh), DNS with
#      the TTL cache (bench/dns.sh); 8 and 9 drawn to bench/webscale.png
#      by bench/webscale-plot.sh.
# References: wrk (ceiling), bench/plainpool (a plain Go worker pool),
# Python asyncio+aiohttp (bench/aiohttp_client.py), and `xargs -P 64 curl`
# (on 2,000 URLs: a process per URL would take minutes on 50,000).
# Installs wrk, gnuplot and python3-aiohttp from Debian when missing (needs
# root). Not part of CI.
source "$(dirname "$0")/lib.sh"
runs=${RUNS:-3}

if ! command -v wrk >/dev/null || ! command -v gnuplot >/dev/null || ! /usr/bin/python3 -c 'import aiohttp' 2>/dev/null; then
	apt-get update -qq && apt-get install -y -qq wrk gnuplot-nox python3-aiohttp >/dev/null
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
urls 100000 "$base/hello" > "$work/s4-100k"
urls 1000000 "$base/hello" > "$work/s4-1m"
echo "$base/page/1" > "$work/s5"
"$work/site" -ports 200 > "$work/hosts" &
server_pids+=($!)
for _ in $(seq 100); do [ "$(wc -l < "$work/hosts")" = 200 ] && break; sleep 0.05; done
awk 'NR == FNR { h[n++] = $0; next } END { for (i = 0; i < 20000; i++) print h[i % n] "/hello?i=" i }' \
	"$work/hosts" /dev/null | shuf --random-source=<(yes) > "$work/s6"
urls 10000 "$base/hello" > "$work/s7"
head -n 500 "$work/s7" > "$work/s7-curl"
cpus=$(nproc)
curl_fmt='{"url":"%{url_effective}","status":%{http_code},"ms":%{time_total}}\n'

# many CMD...: one run of scenario 6. Each output line is stamped with the
# time it came out; appends "wall maxPerSecond firstDone lastDone" to
# $work/s6-sluice, where maxPerSecond is the most records of one host in
# any one second and firstDone..lastDone when the hosts' last records came.
many() {
	local t0
	t0=$EPOCHREALTIME
	"$@" < "$work/s6" | while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done > "$work/s6-out"
	[ "$(wc -l < "$work/s6-out")" = 20000 ] || { echo "many hosts: lines lost" >&2; exit 1; }
	awk -v t0="$t0" '{
		match($0, /"url":"http:\/\/[^\/]*/)
		h = substr($0, RSTART + 13, RLENGTH - 13)
		t = $1 - t0
		n[h]++; at[h, n[h]] = t
		if (t > wall) wall = t
	} END {
		first = -1
		for (h in n) {
			j = 1
			for (i = 1; i <= n[h]; i++) {
				while (at[h, i] - at[h, j] >= 1) j++
				if (i - j + 1 > most) most = i - j + 1
			}
			last = at[h, n[h]]
			if (first < 0 || last < first) first = last
			if (last > latest) latest = last
		}
		printf "%.2f %d %.2f %.2f\n", wall, most, first, latest
	}' "$work/s6-out" >> "$work/s6-sluice"
}

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
	many "$work/sluice" -c 64 --host-rate 20
done
echo "throughput sweep for the plot" >&2
: > "$work/sweep"
for c in 1 4 16 64 256; do
	point() { # point TOOL N CMD...: one run on the first N URLs of s7
		local tool=$1 n=$2 t0 t1
		shift 2
		t0=$EPOCHREALTIME
		head -n "$n" "$work/s7" | "$@" > /dev/null 2>&1
		t1=$EPOCHREALTIME
		awk -v c="$c" -v t="$tool" -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "%s %d %.0f\n", t, c, n / (b - a) }' >> "$work/sweep"
	}
	point sluice 10000 "$work/sluice" -c "$c" --host-concurrency "$c"
	point plain 10000 "$work/plainpool" -c "$c"
	point aiohttp 10000 /usr/bin/python3 bench/aiohttp_client.py "$c"
	point curl 500 xargs -P "$c" -n 1 curl -s -o /dev/null -w "$curl_fmt"
	wrk -t "$((c < 2 ? 1 : 2))" -c "$c" -d 3s "$base/hello" | awk -v c="$c" '/Requests\/sec/ { printf "wrk %d %.0f\n", c, $2 }' >> "$work/sweep"
done
for t in wrk sluice plain aiohttp curl; do awk -v t="$t" '$1 == t { print $2, $3 }' "$work/sweep" > "$work/sweep-$t"; done
gnuplot <<PLOT
set terminal pngcairo size 800,500 noenhanced
set output "bench/throughput.png"
set title "Throughput vs concurrency, ~100-byte answers on loopback ($(nproc) cores, $(date -u +%Y-%m-%d))"
set xlabel "concurrency (-c)"
set ylabel "requests/s"
set logscale xy
set xrange [0.8:320]
set xtics ("1" 1, "4" 4, "16" 16, "64" 64, "256" 256)
set key below
set grid
plot "$work/sweep-wrk" with linespoints title "wrk (ceiling)", \
     "$work/sweep-sluice" with linespoints lw 2 title "sluice", \
     "$work/sweep-plain" with linespoints title "plain Go pool", \
     "$work/sweep-aiohttp" with linespoints title "asyncio+aiohttp", \
     "$work/sweep-curl" with linespoints title "xargs -P curl"
PLOT
echo "memory runs" >&2
for n in 10k 100k 1m; do
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

echo "== 8-10. web scale: bench/tls.sh, bench/conns.sh, bench/dns.sh" >&2
RUNS=$runs bash bench/tls.sh 2> /dev/null > "$work/s8-all"
awk '/^\|/ { print; seen = 1; next } seen { exit }' "$work/s8-all" > "$work/s8"
awk '/^\| repeats/ { on = 1 } on && /^\|/' "$work/s8-all" > "$work/s8r"
RUNS=$runs bash bench/conns.sh | grep '^|' > "$work/s9"
RUNS=$runs bash bench/dns.sh > "$work/s10"
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
	row "4. memory, 100,000 lines" sluice s4-sluice-100k 100000 "$wrk_rps"
	row "4. memory, 1,000,000 lines" sluice s4-sluice-1m 1000000 "$wrk_rps"
	row "4. memory, 10,000 lines" "plain Go pool" s4-plain-10k 10000 "$wrk_rps"
	row "4. memory, 100,000 lines" "plain Go pool" s4-plain-100k 100000 "$wrk_rps"
	row "4. memory, 1,000,000 lines" "plain Go pool" s4-plain-1m 1000000 "$wrk_rps"
	echo
	echo "| 5. start-up, one URL end to end | median ms | spread ms |"
	echo "|---|---|---|"
	for t in sluice plain aiohttp curl; do
		printf '| %s | %s | %s |\n' "$t" "$(median < "$work/s5-$t")" "$(spread < "$work/s5-$t")"
	done
	echo
	echo
	echo "| 6. many hosts: 20,000 URLs over 200 hosts, --host-rate 20, -c 64 | median | spread |"
	echo "|---|---|---|"
	printf '| wall s (ideal 4.95: 1 at once, then 99 at 20/s per host) | %s | %s |\n' \
		"$(awk '{ print $1 }' "$work/s6-sluice" | median)" "$(awk '{ print $1 }' "$work/s6-sluice" | spread)"
	printf '| ratio to ideal | %.2f | – |\n' "$(awk '{ print $1 / 4.95 }' "$work/s6-sluice" | median)"
	printf '| most records of one host in any 1 s (limit 20, +1 burst) | %s | %s |\n' \
		"$(awk '{ print $2 }' "$work/s6-sluice" | median)" "$(awk '{ print $2 }' "$work/s6-sluice" | spread)"
	printf '| hosts done between (s) | %s–%s | – |\n' \
		"$(awk '{ print $3 }' "$work/s6-sluice" | median)" "$(awk '{ print $4 }' "$work/s6-sluice" | median)"
	echo
	echo "7. Throughput vs concurrency (one run per point; 10,000 URLs, 500 for curl; wrk for 3 s):"
	echo
	echo "| tool | -c 1 | -c 4 | -c 16 | -c 64 | -c 256 |"
	echo "|---|---|---|---|---|---|"
	for t in wrk sluice plain aiohttp curl; do
		awk -v t="$t" '$1 == t { r = r " | " $3 } END { print "| " t r " |" }' "$work/sweep"
	done
	echo
	echo "![throughput vs concurrency](bench/throughput.png)"
	echo
	echo "8. TLS over many hosts (bench/tls.sh): 5,000 HTTPS hosts, one request each, -c 64; curl on 2,000:"
	echo
	cat "$work/s8"
	echo
	echo "8b. Hosts that come back (bench/tls.sh): 1,000 HTTPS hosts, each twice and five times, interleaved, -c 64:"
	echo
	cat "$work/s8r"
	echo
	echo "9. Thousands of connections (bench/conns.sh): 20,000 URLs over 5,000 hosts answering in 1 s, -c 5000:"
	echo
	cat "$work/s9"
	echo
	echo "![web scale](bench/webscale.png)"
	echo
	echo "10. DNS (bench/dns.sh): 100,000 URLs over 5,000 names, --dns-server answering in 5 ms against --resolve:"
	echo
	cat "$work/s10"
	echo
	echo "Ratio: req/s over wrk's for throughput and memory; over the plain Go pool + goquery for parse;"
	echo "wall over the ideal 1.0 s for the latency-bound run."
	echo "Parsing runs on $cpus cores shared with the server. Peak RSS of xargs curl is xargs' own, not its curls'."
	echo "sluice runs with --host-concurrency equal to -c, its default since issue 13 (before, the default was -c/4)."
} > "$work/BENCHMARKS.md"
# What is kept by hand below the figures (design decisions, measured) stays.
sed -n '/^## Design decisions/,$p' BENCHMARKS.md > "$work/kept"
cp "$work/BENCHMARKS.md" BENCHMARKS.md
if [ -s "$work/kept" ]; then
	{ echo; cat "$work/kept"; } >> BENCHMARKS.md
fi
bash bench/webscale-plot.sh BENCHMARKS.md
cat BENCHMARKS.md
