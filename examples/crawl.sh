#!/usr/bin/env bash
# A crawl of the local site: its home page, the pages it links to, and the
# pages those link to, each once, within the home page's host, under its
# robots.txt, with the title of each. Each record says how deep it was found
# (depth) and which record first linked to it (parent); --stats counts the
# links not followed, by reason.
#
#   bash examples/crawl.sh
source "$(dirname "$0")/lib.sh"

echo "$BASE/" |
	sluice --follow --depth 2 --robots --extract title --stats |
	jq -c '{seq, depth, parent, url, status, title}'
