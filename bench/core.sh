#!/usr/bin/env bash
# Core figures for sluice against the local test site (loopback only):
#   1. throughput: 20,000 URLs at -c 50, sluice and the plain Go pool
#      (bench/plainpool) alternating, $RUNS runs each, median and spread;
#   2. memory: peak RSS for 10,000 vs 1,000,000 input lines;
#   3. parsing: 2,000 pages of ~100 KB with --extract title,links, against
#      the same run without extraction.
# Not part of CI. Usage: bash bench/core.sh   (RUNS=5 for more runs)
source "$(dirname "$0")/lib.sh"
runs=${RUNS:-3}
build sluice . site ./internal/cmd/site plainpool ./bench/plainpool
serve base "$work/site"

lines() { awk -v n="$1" -v u="$base/hello" 'BEGIN { for (i = 0; i < n; i++) print u }' > "$2"; }
lines 20000 "$work/20k"; lines 10000 "$work/10k"; lines 1000000 "$work/1m"

# run NAME FILE CMD...: wall seconds and peak RSS (KiB) of one run; checks
# that every input line got an output line.
run() {
	local name=$1 in=$2; shift 2
	/usr/bin/time -f '%e %M' -o "$work/time" "$@" < "$in" > "$work/out"
	local want got
	want=$(wc -l < "$in"); got=$(wc -l < "$work/out")
	[ "$want" = "$got" ] || { echo "$name: $got output lines for $want input lines" >&2; exit 1; }
	cat "$work/time"
}

echo "## throughput: 20,000 URLs to $base/hello, -c 50, $runs runs each (alternating)"
: > "$work/t.sluice"; : > "$work/t.plain"
for _ in $(seq "$runs"); do
	run sluice "$work/20k" "$work/sluice" -c 50 | awk '{ print $1 }' >> "$work/t.sluice"
	run plainpool "$work/20k" "$work/plainpool" -c 50 | awk '{ print $1 }' >> "$work/t.plain"
done
printf '| tool | median wall s | spread s | req/s (median) |\n|---|---|---|---|\n'
for t in sluice plain; do
	m=$(median < "$work/t.$t")
	printf '| %s | %s | %s | %.0f |\n' "$t" "$m" "$(spread < "$work/t.$t")" "$(awk -v m="$m" 'BEGIN { print 20000 / m }')"
done
ms=$(median < "$work/t.sluice"); mp=$(median < "$work/t.plain")
printf 'sluice / plain Go pool throughput ratio: %.2f\n\n' "$(awk -v a="$mp" -v b="$ms" 'BEGIN { print a / b }')"

echo "## memory: peak RSS, -c 50"
printf '| input lines | wall s | peak RSS MiB |\n|---|---|---|\n'
for n in 10k 1m; do
	read -r wall rss < <(run "sluice $n" "$work/$n" "$work/sluice" -c 50)
	printf '| %s | %s | %.1f |\n' "$n" "$wall" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')"
done

echo
echo "## parse: 2,000 pages of ~100 KB (/article/N), -c 16 --host-concurrency 16, $runs runs each"
awk -v b="$base" 'BEGIN { for (i = 0; i < 2000; i++) print b "/article/" i }' > "$work/articles"
: > "$work/t.extract"; : > "$work/t.fetch"
for _ in $(seq "$runs"); do
	run extract "$work/articles" "$work/sluice" -c 16 --host-concurrency 16 --extract title,links | awk '{ print $1 }' >> "$work/t.extract"
	run fetch "$work/articles" "$work/sluice" -c 16 --host-concurrency 16 | awk '{ print $1 }' >> "$work/t.fetch"
done
printf '| run | median wall s | pages/s | MB/s of HTML |\n|---|---|---|---|\n'
for t in extract fetch; do
	m=$(median < "$work/t.$t")
	printf '| %s | %s | %.0f | %.1f |\n' "$t" "$m" "$(awk -v m="$m" 'BEGIN { print 2000 / m }')" "$(awk -v m="$m" 'BEGIN { print 2000 * 0.1 / m }')"
done
