#!/usr/bin/env bash
# Quick start: fetch the pages of the local test site, plus a missing page and
# a line that is not a URL. Every input line gets one NDJSON record on stdout.
#
#   bash examples/quickstart.sh
source "$(dirname "$0")/lib.sh"

{
	echo "$BASE/"
	for i in $(seq 1 20); do echo "$BASE/page/$i"; done
	echo "$BASE/status/404"
	echo "not a url"
} | sluice -c 8
