#!/usr/bin/env bash
# Many workers, one queue: 300 URLs over three hosts go into a NATS
# JetStream work queue (partitioned by host), three sluice workers share
# it, and their records go to one output stream. On many machines it is the
# same: one `sluice enqueue`, then the worker command on every machine.
# The NATS server here is internal/cmd/natsd (the nats-server Go module,
# embedded); any nats-server 2.10 or later with JetStream on will do.
# The records are printed from the output stream at the end.
#
#   bash examples/distributed.sh
source "$(dirname "$0")/lib.sh"
if [ -z "${NATSD:-}" ]; then
	(cd "$root" && go build -o "$work/natsd" ./internal/cmd/natsd && go build -o "$work/natscat" ./internal/cmd/natscat)
	NATSD=$work/natsd NATSCAT=$work/natscat
fi
start_server NATS "$NATSD" -store "$work/jetstream"
start_site B
start_site C

# 1. Load the queue: stream CRAWL, messages on crawl.urls.<partition>.
for i in $(seq 1 100); do
	p=$(((i - 1) % 20 + 1)) # the site has pages 1 to 20
	printf '%s/page/%d?visit=%d\n' "$BASE" "$p" "$i" "$B" "$p" "$i" "$C" "$p" "$i"
done | sluice enqueue --to "$NATS/CRAWL/crawl.urls"

# 2. Three workers. Each host's partition is worked by one worker at a time,
#    so --host-rate 40 holds for all of them together. idle=1s: stop once
#    the whole queue has been empty for a second (a batch job).
for w in 1 2 3; do
	sluice --in "$NATS/CRAWL/crawl.urls?idle=1s" --out "$NATS/crawl.results" \
		--host-rate 40 --extract title --stats 2> "$work/worker-$w.log" &
	workers+=($!)
done
wait "${workers[@]}"
grep -h '^sluice: done' "$work"/worker-*.log >&2

# 3. The output stream (CRAWL_RESULTS, made by the first worker): one record
#    per URL, whichever worker fetched it.
"$NATSCAT" -server "$NATS" -stream CRAWL_RESULTS
