#!/usr/bin/env bash
# Enrich an NDJSON log with page titles: each event keeps all its fields and
# gains the status and title of the page it mentions. sluice reads the URL
# from the "url" field (--url-field for another) and carries the event
# through as "input".
#
#   bash examples/enrich-log.sh
source "$(dirname "$0")/lib.sh"

for i in 1 2 3; do
	printf '{"ts":"2026-11-24T12:0%d:00Z","user":"u%d","url":"%s/page/%d"}\n' "$i" "$i" "$BASE" "$i"
done > "$work/events.ndjson"
sluice --extract title --ordered < "$work/events.ndjson" | jq -c '.input + {status, title}'
