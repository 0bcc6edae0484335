#!/usr/bin/env bash
# A two-level crawl of the local site: the same-site links of the home page,
# then the title of every page they lead to. sluice's links are absolute
# http(s) URLs, once each, so `jq -r '.links[]'` feeds straight back in.
#
#   bash examples/two-level-crawl.sh
source "$(dirname "$0")/lib.sh"

echo "$BASE/" |
	sluice --robots --extract links --links-same-host |
	jq -r '.links[]' |
	sluice --robots --extract title |
	jq -c '{seq, url, status, title}'
