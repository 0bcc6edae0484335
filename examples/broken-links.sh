#!/usr/bin/env bash
# A broken-link checker: fetch a page, check every link on it, print the
# broken ones (HTTP errors and failures alike) and exit 1 when there are any,
# so it can gate a CI job or a cron mail.
#
#   bash examples/broken-links.sh [URL]
source "$(dirname "$0")/lib.sh"
page=${1:-$BASE/broken-links}

echo "$page" |
	sluice --extract links |
	jq -r '.links[]' |
	sluice --fail-status --retries 0 > "$work/checked.ndjson"
jq -r 'select(.error) | "broken: \(.url) (\(.status // .error.kind))"' "$work/checked.ndjson"
broken=$(jq -s 'map(select(.error)) | length' "$work/checked.ndjson")
echo "$(wc -l < "$work/checked.ndjson") links checked, $broken broken" >&2
[ "$broken" -eq 0 ]
