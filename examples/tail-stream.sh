#!/usr/bin/env bash
# Streaming: a log that grows while it is read. `tail -F` feeds sluice, and a
# log-processor-style consumer (jq, as Vector or Benthos would) sees each
# record as soon as its URL is fetched, not when the input ends. Here the
# producer writes a URL every 0.2 s and tail stops when the producer is done
# (--pid); in real use tail -F runs for ever.
#
#   bash examples/tail-stream.sh
source "$(dirname "$0")/lib.sh"

log=$work/urls.log
: > "$log"
(for i in $(seq 1 8); do echo "$BASE/page/$i" >> "$log"; sleep 0.2; done) &
producer=$!
tail -n +1 -F --pid="$producer" "$log" 2>/dev/null |
	sluice |
	jq --unbuffered -c '{seen: (now | strftime("%H:%M:%S")), url, status, ms: .elapsed_ms}'
