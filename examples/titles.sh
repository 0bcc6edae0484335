#!/usr/bin/env bash
# The title of every page in a URL list, as tab-separated URL and title.
#
#   bash examples/titles.sh
source "$(dirname "$0")/lib.sh"

for i in $(seq 1 5); do echo "$BASE/page/$i"; done > "$work/urls.txt"
sluice --extract title --ordered < "$work/urls.txt" | jq -r '[.url, .title] | @tsv'
