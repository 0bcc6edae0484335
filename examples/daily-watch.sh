#!/usr/bin/env bash
# A daily watch: the same URL list every day, through an HTTP cache that
# revalidates (--cache), keeping only the pages that changed since the last
# run. Here the two "days" are two runs a moment apart; on the local site
# one page changes between them, the others answer 304 Not Modified (or,
# without validators, the same page again).
#
#   bash examples/daily-watch.sh
source "$(dirname "$0")/lib.sh"

for kind in etag modified both neither max-age changing; do echo "$BASE/cache/$kind/1"; done > "$work/urls.txt"
cache=$work/cache # in real use a lasting place, such as ~/.cache/sluice

for day in 1 2; do
	sluice --cache "$cache" --extract title < "$work/urls.txt" > "$work/day$day.ndjson"
	echo "day $day: $(jq -r .cache "$work/day$day.ndjson" | sort | uniq -c | awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2 }')" >&2
done
# What changed since yesterday:
jq -c 'select(.cache == "changed") | {url, title}' "$work/day2.ndjson"
