#!/usr/bin/env bash
# What --warc costs: 2,000 pages of ~100 KB (/article/N, chunked HTML) at
# -c 64 on loopback, sluice without --warc, with --warc, and with --warc
# --warc-cdx; then the same with --extract title,links (what a crawl does
# with each page) without and with --warc; alternating, $RUNS runs each
# (default 3), medians and spread:
# wall time, its ratio to the run without, peak RSS and CPU; and wget
# --warc-file on the same 2,000 pages (one connection, as wget fetches),
# for comparison. Every sluice run is checked for one output line per input
# line and one response record per page. Not part of CI.
# Usage: bash bench/warc.sh   (RUNS=5)
source "$(dirname "$0")/lib.sh"
runs=${RUNS:-3}
command -v wget >/dev/null || { echo "bench/warc.sh needs wget (apt-get install wget)" >&2; exit 1; }
build sluice . site ./internal/cmd/site
serve base "$work/site"
awk -v b="$base" 'BEGIN { for (i = 0; i < 2000; i++) print b "/article/" i }' > "$work/urls"

# measure KEY CMD...: appends "wall rssKiB cpu" of one run to $work/KEY.
measure() {
	local key=$1
	shift
	rm -rf "$work/warc" && mkdir -p "$work/warc"
	/usr/bin/time -f '%e %M %U %S' -o "$work/time" "$@" < "$work/urls" > "$work/out" 2> "$work/err" ||
		{ echo "$key failed:" >&2; cat "$work/err" >&2; exit 1; }
	awk '{ print $1, $2, $3 + $4 }' "$work/time" >> "$work/m-$key"
}
check() {
	[ "$(wc -l < "$work/out")" = 2000 ] || { echo "$1: lines lost" >&2; exit 1; }
	local n
	n=$(zcat "$work"/warc/*.warc.gz | grep -ac '^WARC-Type: response')
	[ "$n" = 2000 ] || { echo "$1: $n response records; want 2000" >&2; exit 1; }
	du -sk "$work/warc" | awk '{ print $1 }' >> "$work/size-$1"
}

for i in $(seq "$runs"); do
	echo "run $i of $runs" >&2
	measure plain "$work/sluice" -c 64 --host-concurrency 64
	measure warc "$work/sluice" -c 64 --host-concurrency 64 --warc "$work/warc"
	check warc
	measure cdx "$work/sluice" -c 64 --host-concurrency 64 --warc "$work/warc" --warc-cdx
	check cdx
	measure extract "$work/sluice" -c 64 --host-concurrency 64 --extract title,links
	measure extractwarc "$work/sluice" -c 64 --host-concurrency 64 --extract title,links --warc "$work/warc"
	check extractwarc
	rm -rf "$work/warc" && mkdir -p "$work/warc"
	/usr/bin/time -f '%e %M %U %S' -o "$work/time" wget --quiet --warc-file="$work/warc/wget" -O /dev/null -i "$work/urls" 2> "$work/err" ||
		{ echo "wget failed:" >&2; cat "$work/err" >&2; exit 1; }
	awk '{ print $1, $2, $3 + $4 }' "$work/time" >> "$work/m-wget"
	du -sk "$work/warc" | awk '{ print $1 }' >> "$work/size-wget"
done

col() { awk -v k="$1" '{ print $k }' "$2"; }
echo "| run (2,000 x 100 KB) | wall s (spread) | pages/s | wall / without --warc | peak RSS MiB | CPU s | archive MiB |"
echo "|---|---|---|---|---|---|---|"
for s in "plain:sluice -c 64" "warc:sluice -c 64 --warc" "cdx:sluice -c 64 --warc --warc-cdx" \
	"extract:sluice -c 64 --extract title,links" "extractwarc:sluice -c 64 --extract title,links --warc" "wget:wget --warc-file"; do
	k=${s%%:*}
	case $k in extract*) p=$(col 1 "$work/m-extract" | median) ;; *) p=$(col 1 "$work/m-plain" | median) ;; esac
	w=$(col 1 "$work/m-$k" | median)
	size=-
	[ -f "$work/size-$k" ] && size=$(median < "$work/size-$k" | awk '{ printf "%.1f", $1 / 1024 }')
	awk -v n="${s#*:}" -v w="$w" -v p="$p" -v sp="$(col 1 "$work/m-$k" | spread)" -v r="$(col 2 "$work/m-$k" | median)" \
		-v c="$(col 3 "$work/m-$k" | median)" -v size="$size" \
		'BEGIN { printf "| %s | %.2f (%s) | %.0f | %.2f | %.1f | %.2f | %s |\n", n, w, sp, 2000 / w, w / p, r / 1024, c, size }'
done
