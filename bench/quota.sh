#!/usr/bin/env bash
# Rate-limit fields as a budget: twenty requests at -c 4 to an API that
# allows 5 per 2 s and says so in its rate-limit fields (the site's
# /quota/STYLE/5/2/, one run per field style), retried until answered. How
# many answers were 429, by the server's count, and how long the 20 took.
# Ideal: 0 429s and 20 requests over 4 windows (6 to 8 s). Not part of CI.
# Usage: bash bench/quota.sh   (RUNS=3 by default; SLUICE=path to compare a build)
source "$(dirname "$0")/lib.sh"
runs=${RUNS:-3}
build sluice . site ./internal/cmd/site
bin=${SLUICE:-$work/sluice}
echo "| style | run | requests | 429s | wall s |"
echo "|---|---|---|---|---|"
for style in ietf draft x; do
	for run in $(seq "$runs"); do
		serve SITE "$work/site" # a new site each run: a fresh quota counter
		for i in $(seq 20); do echo "$SITE/quota/$style/5/2/$i"; done > "$work/q.in"
		t0=$EPOCHREALTIME
		"$bin" -c 4 --retries 10 < "$work/q.in" > "$work/q.out"
		t1=$EPOCHREALTIME
		stats=$(curl -s "$SITE/quota/stats/$style/5/2")
		ok=$(jq -r .ok <<<"$stats") too=$(jq -r .too_many <<<"$stats")
		awk -v s="$style" -v r="$run" -v ok="$ok" -v too="$too" -v t0="$t0" -v t1="$t1" \
			'BEGIN { printf "| %s | %d | %d | %d | %.2f |\n", s, r, ok + too, too, t1 - t0 }'
		[ "$(grep -c '"status":200' "$work/q.out")" = 20 ] || echo "  (not every record ended 200: $(grep -vc '"status":200' "$work/q.out") did not)"
	done
done
