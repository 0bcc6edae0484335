#!/usr/bin/env bash
# Crawl figures (issue 28) over the local site's link graph (/g/SIZE/N, see
# internal/site/graph.go), on loopback only:
#   1. speed: the graph of $SIZE pages (default 100,000) crawled from page 1
#      to --depth 20 at -c 64, by sluice --follow, by colly (bench/collycrawl:
#      async, the same parallelism, its in-memory storage, fragments dropped)
#      and by a plain breadth-first net/http + goquery crawler
#      (bench/plaincrawl), $RUNS runs each alternating, medians;
#   2. memory: sluice's peak RSS over $SIZE and over $BIG pages (default
#      1,000,000), side by side, and a plot of pages/s and RSS over each
#      crawl's life (bench/crawl.png).
# Each tool writes a line per page fetched; pages/s counts them. Not part of
# CI; needs the Go module proxy once, for colly. Usage: bash bench/crawl.sh
source "$(dirname "$0")/lib.sh"
runs=${RUNS:-3}
size=${SIZE:-100000}
big=${BIG:-1000000}
build sluice . site ./internal/cmd/site plaincrawl ./bench/plaincrawl
(cd bench/collycrawl && go build -o "$work/collycrawl" .)
serve base "$work/site"

cmd() {
	local n=$2
	case $1 in
	sluice) echo "$work/sluice --follow --depth 20 -c 64 -u $base/g/$n/1" ;;
	colly) echo "$work/collycrawl -c 64 -depth 20 $base/g/$n/1" ;;
	plain) echo "$work/plaincrawl -c 64 -depth 20 $base/g/$n/1" ;;
	esac
}

# timed TOOL N: appends "wall peakRSS_KiB pages" to $work/r.TOOL.N.
timed() {
	# shellcheck disable=SC2046
	/usr/bin/time -f '%e %M' -o "$work/time" $(cmd "$1" "$2") > "$work/out" 2> "$work/err"
	echo "$(cat "$work/time") $(wc -l < "$work/out")" >> "$work/r.$1.$2"
}

# sampled TOOL N FILE: runs once, writing "seconds pages rss_kib" every half second.
sampled() {
	local start pid
	start=$(date +%s.%N)
	# shellcheck disable=SC2046
	$(cmd "$1" "$2") > "$work/out" 2> "$work/err" &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
		[ -n "$rss" ] && echo "$(echo "$(date +%s.%N) - $start" | bc) $(wc -l < "$work/out") $rss" >> "$3"
		sleep 0.5
	done
	wait "$pid"
}

for _ in $(seq "$runs"); do
	for tool in sluice colly plain; do timed "$tool" "$size"; done
done
col() { awk -v k="$1" '{ print $k }' "$2" | median; }
printf '| crawler | pages | wall s (median) | pages/s | peak RSS MiB | x colly | x plain |\n|---|---|---|---|---|---|---|\n'
colly_rate=$(awk '{ print $3 / $1 }' "$work/r.colly.$size" | median)
plain_rate=$(awk '{ print $3 / $1 }' "$work/r.plain.$size" | median)
for tool in sluice colly plain; do
	f=$work/r.$tool.$size
	awk -v t="$tool" -v p="$(col 3 "$f")" -v w="$(col 1 "$f")" -v rate="$(awk '{ print $3 / $1 }' "$f" | median)" \
		-v r="$(col 2 "$f")" -v c="$colly_rate" -v pl="$plain_rate" \
		'BEGIN { printf "| %s | %d | %.2f | %.0f | %.0f | %.2fx | %.2fx |\n", t, p, w, rate, r / 1024, rate / c, rate / pl }'
done

# The same requests, counted differently: sluice writes a redirect as a
# record of its own where the others fetch its target inside one line, so
# its lines outnumber theirs; by wall time the comparison is request for
# request.
awk -v s="$(col 1 "$work/r.sluice.$size")" -v p="$(col 1 "$work/r.plain.$size")" -v c="$(col 1 "$work/r.colly.$size")" \
	'BEGIN { printf "\nby wall time (the same requests): sluice %.2fx the plain crawler, %.2fx colly\n", p / s, c / s }'

echo
sampled sluice "$size" "$work/s.small"
small_pages=$(wc -l < "$work/out")
sampled sluice "$big" "$work/s.big"
small_rss=$(awk '{ print $3 }' "$work/s.small" | sort -n | tail -1)
big_rss=$(awk '{ print $3 }' "$work/s.big" | sort -n | tail -1)
big_pages=$(wc -l < "$work/out")
printf '| graph | pages crawled | wall s | peak RSS MiB (sampled) |\n|---|---|---|---|\n'
printf '| %s pages | %d | %.1f | %.0f |\n' "$size" "$small_pages" "$(tail -1 "$work/s.small" | awk '{ print $1 }')" "$(echo "$small_rss / 1024" | bc -l)"
printf '| %s pages | %d | %.1f | %.0f |\n' "$big" "$big_pages" "$(tail -1 "$work/s.big" | awk '{ print $1 }')" "$(echo "$big_rss / 1024" | bc -l)"
awk -v a="$small_rss" -v b="$big_rss" 'BEGIN { printf "\npeak RSS %s pages / %s pages: %.2fx\n", "'"$big"'", "'"$size"'", b / a }'
go run ./bench/crawlplot -o bench/crawl.png "$size pages=$work/s.small" "$big pages=$work/s.big"
echo "plot: bench/crawl.png"
