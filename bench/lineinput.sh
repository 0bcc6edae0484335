#!/usr/bin/env bash
# Line input before and after a change: bench/run.sh's line-input scenarios
# for sluice built at BEFORE (a git revision; default ca9fa24, the last
# commit before the crawl's frontier) and at the working tree, alternating,
# $RUNS runs each (default 3), medians and spread; on loopback only:
#   1. throughput: 50,000 URLs to a ~100-byte endpoint at -c 64;
#   2. latency-bound: 2,000 URLs that each wait 100 ms at -c 200 (ideal 1.0 s);
#   3. parse: 5,000 pages of ~100 KB with --extract title,links at -c 16;
#   4. memory: peak RSS for 100,000 input lines at -c 64.
# Every run is checked for one output line per input line. Not part of CI.
# Usage: bash bench/lineinput.sh   (BEFORE=REV, RUNS=5)
source "$(dirname "$0")/lib.sh"
runs=${RUNS:-3}
before=${BEFORE:-ca9fa24}
build after . site ./internal/cmd/site
git worktree add -q --detach "$work/tree" "$before"
trap 'git -C "$root" worktree remove --force "$work/tree" 2>/dev/null || true; for p in "${server_pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
(cd "$work/tree" && go build -o "$work/before" .)
serve base "$work/site"

urls() { awk -v n="$1" -v u="$2" 'BEGIN { for (i = 0; i < n; i++) print u "?i=" i }'; }
urls 50000 "$base/hello" > "$work/s1"
urls 2000 "$base/slow/100" > "$work/s2"
awk -v b="$base" 'BEGIN { for (i = 0; i < 5000; i++) print b "/article/" i }' > "$work/s3"
urls 100000 "$base/hello" > "$work/s4"

# measure KEY INPUT CMD...: appends "wall rssKiB cpu" of one run to $work/KEY.
measure() {
	local key=$1 in=$2
	shift 2
	/usr/bin/time -f '%e %M %U %S' -o "$work/time" "$@" < "$in" > "$work/out" 2> "$work/err" ||
		{ echo "$key failed:" >&2; cat "$work/err" >&2; exit 1; }
	[ "$(wc -l < "$in")" = "$(wc -l < "$work/out")" ] || { echo "$key: lines lost" >&2; exit 1; }
	awk '{ print $1, $2, $3 + $4 }' "$work/time" >> "$work/$key"
}

for i in $(seq "$runs"); do
	echo "run $i of $runs" >&2
	for v in before after; do
		measure "s1-$v" "$work/s1" "$work/$v" -c 64 --host-concurrency 64
		measure "s2-$v" "$work/s2" "$work/$v" -c 200 --host-concurrency 200
		measure "s3-$v" "$work/s3" "$work/$v" -c 16 --host-concurrency 16 --extract title,links
		measure "s4-$v" "$work/s4" "$work/$v" -c 64 --host-concurrency 64
	done
done

col() { awk -v k="$1" '{ print $k }' "$2"; }
echo "| scenario | $before wall s (spread) | now wall s (spread) | now/before | $before CPU s | now CPU s | $before RSS MiB | now RSS MiB |"
echo "|---|---|---|---|---|---|---|---|"
for s in "s1:50,000 /hello -c 64" "s2:2,000 x 100 ms -c 200" "s3:5,000 x 100 KB --extract title,links" "s4:100,000 /hello (memory)"; do
	k=${s%%:*}
	b=$(col 1 "$work/$k-before" | median) a=$(col 1 "$work/$k-after" | median)
	awk -v n="${s#*:}" -v b="$b" -v a="$a" -v bs="$(col 1 "$work/$k-before" | spread)" -v as="$(col 1 "$work/$k-after" | spread)" \
		-v bc="$(col 3 "$work/$k-before" | median)" -v ac="$(col 3 "$work/$k-after" | median)" \
		-v br="$(col 2 "$work/$k-before" | median)" -v ar="$(col 2 "$work/$k-after" | median)" \
		'BEGIN { printf "| %s | %.2f (%s) | %.2f (%s) | %.2f | %.2f | %.2f | %.1f | %.1f |\n", n, b, bs, a, as, a / b, bc, ac, br / 1024, ar / 1024 }'
done
