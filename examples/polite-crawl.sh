#!/usr/bin/env bash
# A polite crawl over two hosts: the pages of one site, and a rate-limited
# API on another that refuses (429) past 3 requests a second. sluice keeps to
# 20 requests/s overall and at most 8/s and 2 at a time per host; the API's
# refusals slow that host down (--auto-throttle) and are retried, while the
# other host keeps going. Records go to stdout, a per-host summary to stderr.
#
#   bash examples/polite-crawl.sh
source "$(dirname "$0")/lib.sh"
start_site API

{
	for i in $(seq 1 12); do
		echo "$BASE/page/$i"
		echo "$API/limited/3/item-$i"
	done
} | sluice --robots --rate 20 --host-rate 8 --host-concurrency 2 --auto-throttle --retries 5 --stats
