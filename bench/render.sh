#!/usr/bin/env bash
# --render (issue 31): pages per second and peak RSS (sluice plus every
# Chromium process) rendering $PAGES (default 600) pages of the local
# site's single-page app (/app/product/N: a script and an XHR each), at 1, 2
# and 4 workers, beside a plain chromedp loop (bench/chromedploop: the same
# pages, as many tabs, no interception: the browser fetches for itself;
# and the same loop with the DevTools Fetch domain on, every request let
# go on at once: what answering the requests through DevTools, as sluice
# did before its proxy, costs by itself),
# alternating, medians of $RUNS (default 3). Both wait for the load event
# (--render-wait load) so that they do the same work; sluice also at its
# default (idle: no request for 500 ms), in the first run only. Then memory over $LONG (default
# 2000; 0: none) pages at 2 workers: the memory of the process tree at each quarter.
# Needs chromium. Not part of CI. Usage: bash bench/render.sh
# (RUNS=1 PAGES=200 WORKERS="1 2")
source "$(dirname "$0")/lib.sh"
runs=${RUNS:-3}
pages=${PAGES:-600}
long=${LONG:-2000}
command -v chromium > /dev/null || { echo "bench/render.sh needs chromium (apt install chromium)" >&2; exit 1; }
build sluice . site ./internal/cmd/site loop ./bench/chromedploop
serve site "$work/site"
for i in $(seq "$pages"); do echo "$site/app/product/$((i % 5 + 1))"; done > "$work/urls"
for i in $(seq "$long"); do echo "$site/app/product/$((i % 5 + 1))"; done > "$work/long"

# tree_rss PID: the memory in KiB of PID and all its descendants, as PSS
# (shared pages divided among the processes that share them: Chromium's
# processes share most of their mappings, and a sum of RSS counts them
# once per process).
tree_rss() {
	local sum=0 p kb
	for p in $(ps -e -o pid=,ppid= | awk -v root="$1" '
		{ parent[$1] = $2 }
		END { for (p in parent) { q = p; while (q != "" && q != root && q != 1 && q != 0) q = parent[q]; if (q == root) print p } }'); do
		kb=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2> /dev/null || echo 0)
		sum=$((sum + ${kb:-0}))
	done
	echo "$sum"
}

# measure NAME CMD...: runs CMD on $work/urls, prints "seconds peak_kib lines".
measure() {
	local t0 t1 peak=0 rss pid
	t0=$EPOCHREALTIME
	"${@:2}" < "$work/urls" > "$work/out.$1" 2> "$work/err.$1" &
	pid=$!
	while kill -0 "$pid" 2> /dev/null; do
		rss=$(tree_rss "$pid")
		[ "$rss" -gt "$peak" ] && peak=$rss
		sleep 0.2
	done
	wait "$pid" || { echo "$1 failed:" >&2; cat "$work/err.$1" >&2; exit 1; }
	t1=$EPOCHREALTIME
	awk -v a="$t0" -v b="$t1" -v p="$peak" -v n="$(wc -l < "$work/out.$1")" 'BEGIN { printf "%.2f %d %d\n", b - a, p, n }'
}

: > "$work/times"
for run in $(seq "$runs"); do
	for w in ${WORKERS:-1 2 4}; do
		echo "loop $w $(measure loop "$work/loop" -tabs "$w")" >> "$work/times"
		echo "iloop $w $(measure iloop "$work/loop" -tabs "$w" -intercept)" >> "$work/times"
		echo "load $w $(measure load "$work/sluice" --render --render-wait load --render-workers "$w" --extract title)" >> "$work/times"
		if [ "$run" = 1 ]; then # idle waits 500 ms a page by definition: once is enough
			echo "idle $w $(measure idle "$work/sluice" --render --render-workers "$w" --extract title)" >> "$work/times"
		fi
		echo "run $run, $w workers: $(tail -3 "$work/times" | tr '\n' ' ')" >&2
	done
done
med() { awk -v k="$1" -v w="$2" -v c="$3" '$1 == k && $2 == w { print $c }' "$work/times" | median; }
echo "| workers | chromedp loop s | loop intercepting s | sluice --render-wait load s | x loop | x intercepting loop | sluice idle s | loop peak PSS MiB | sluice load peak PSS MiB |"
echo "|---|---|---|---|---|---|---|---|---|"
for w in ${WORKERS:-1 2 4}; do
	l=$(med loop "$w" 3) il=$(med iloop "$w" 3) s=$(med load "$w" 3) i=$(med idle "$w" 3)
	printf '| %d | %s | %s | %s | %.2f | %.2f | %s | %.0f | %.0f |\n' "$w" "$l" "$il" "$s" "$(echo "$l / $s" | bc -l)" "$(echo "$il / $s" | bc -l)" "$i" \
		"$(echo "$(med loop "$w" 4) / 1024" | bc -l)" "$(echo "$(med load "$w" 4) / 1024" | bc -l)"
done
echo "($pages pages; pages/s = $pages / s)"

[ "$long" -gt 0 ] || exit 0
# Memory over a long run: the tree's RSS at each quarter of $long pages.
: > "$work/out.long" # before the quarters' wait reads it
"$work/sluice" --render --render-workers 2 --render-wait load < "$work/long" > "$work/out.long" 2> "$work/err.long" &
pid=$!
marks=""
for q in 1 2 3 4; do
	while kill -0 "$pid" 2> /dev/null && [ "$(wc -l < "$work/out.long")" -lt $((long * q / 4 - 20)) ]; do sleep 0.2; done
	marks="$marks $(( $(tree_rss "$pid") / 1024 ))"
done
wait "$pid"
echo "memory over $long pages at 2 workers, PSS MiB at each quarter:$marks; records out: $(wc -l < "$work/out.long")"
