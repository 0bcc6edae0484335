#!/usr/bin/env bash
# sluice report's speed and memory (issue 18): $N records (default
# 10,000,000) of real sluice output (internal/report/testdata: a run
# against the local site, as written and with --trace), summed up on one
# core (taskset -c 0, GOMAXPROCS=1). Beside it in the same run: `wc -l` on
# the same file (reading it, the ceiling) and jq counting statuses on the
# first 1,000,000 (what a user would reach for). $RUNS runs each (default
# 3), medians; peak RSS shows the memory stays flat from 1M to 10M.
# Usage: bash bench/report.sh   (N=1000000 RUNS=5 to change)
source "$(dirname "$0")/lib.sh"
runs=${RUNS:-3}
n=${N:-10000000}
build sluice .
command -v jq >/dev/null || { echo "jq is needed (apt-get install jq)" >&2; exit 1; }
one=(taskset -c 0 env GOMAXPROCS=1)
echo "| input | records | tool | wall s (median) | records/s | peak RSS MiB |"
echo "|---|---|---|---|---|---|"
for kind in plain traced; do
	for count in 1000000 "$n"; do
		awk -v n="$count" '{ a[NR] = $0 } END { for (i = 0; i < n; i++) print a[i % NR + 1] }' \
			"internal/report/testdata/$kind.ndjson" > "$work/in"
		: > "$work/r.report" ; : > "$work/r.wc"
		for _ in $(seq "$runs"); do
			/usr/bin/time -f '%e %M' -o "$work/t" "${one[@]}" "$work/sluice" report "$work/in" > "$work/out"
			cat "$work/t" >> "$work/r.report"
			grep -q "^$count records" "$work/out" || { echo "report: not $count records" >&2; head -3 "$work/out" >&2; exit 1; }
			/usr/bin/time -f '%e %M' -o "$work/t" "${one[@]}" wc -l "$work/in" > /dev/null
			cat "$work/t" >> "$work/r.wc"
		done
		for tool in report wc; do
			wall=$(awk '{ print $1 }' "$work/r.$tool" | median)
			rss=$(awk '{ print $2 }' "$work/r.$tool" | median)
			printf '| %s | %d | %s | %s | %.0f | %.1f |\n' "$kind" "$count" "$([ $tool = report ] && echo "sluice report" || echo "wc -l")" \
				"$wall" "$(awk -v n="$count" -v w="$wall" 'BEGIN { print (w > 0 ? n / w : 0) }')" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')"
		done
		if [ "$count" = 1000000 ]; then
			/usr/bin/time -f '%e %M' -o "$work/t" "${one[@]}" jq -r '.status // .error.kind' "$work/in" > /dev/null
			read -r wall rss < "$work/t"
			printf '| %s | %d | jq -r .status | %s | %.0f | %.1f |\n' "$kind" "$count" "$wall" "$(awk -v n="$count" -v w="$wall" 'BEGIN { print n / w }')" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')"
		fi
	done
done
