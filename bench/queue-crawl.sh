#!/usr/bin/env bash
# A crawl through the queue (issue 30): $HOSTS local hosts (default 48)
# whose link-graph pages answer after 50 ms, one seed each (/g/$SIZE/1,
# SIZE default 100: about 150 URLs a host with its redirects), --scope
# host, crawled by 1, 2, 3 and 4 sluice processes with -c 16 each, sharing
# one queue (--in … --follow) on one nats-server. Latency-bound, so the
# workers are not short of CPU on this machine. The expected record count
# comes from the same crawl on one machine without the queue, run first
# (pages answered at once). Reports, medians of $RUNS (default 3): the
# time from the workers' start until the output stream holds every record,
# records/s, the speed-up over one worker and against linear, and what the
# seen set (the crawl's key-value bucket) holds on the server per URL.
# Not part of CI. Usage: bash bench/queue-crawl.sh   (RUNS=1 HOSTS=48 WORKERS="1 4" PARTITIONS=64)
source "$(dirname "$0")/lib.sh"
runs=${RUNS:-3}
nhosts=${HOSTS:-48}
size=${SIZE:-100}
build sluice . site ./internal/cmd/site natsd ./internal/cmd/natsd natscat ./internal/cmd/natscat
"$work/site" -ports "$nhosts" -delay 50ms > "$work/hosts" &
server_pids+=($!)
"$work/site" -ports "$nhosts" > "$work/fast" &
server_pids+=($!)
serve nats "$work/natsd"
for _ in $(seq 100); do [ "$(wc -l < "$work/hosts")" = "$nhosts" ] && [ "$(wc -l < "$work/fast")" = "$nhosts" ] && break; sleep 0.05; done
sed "s#\$#/g/$size/1#" "$work/hosts" > "$work/seeds"
sed "s#\$#/g/$size/1#" "$work/fast" > "$work/fastseeds"
n=$("$work/sluice" --follow --depth 100 -c 64 < "$work/fastseeds" | wc -l)
echo "the crawl on one machine: $n records" >&2

: > "$work/times"
for run in $(seq "$runs"); do
	for w in ${WORKERS:-1 2 3 4}; do
		q="C${run}W$w" out="out${run}w$w"
		"$work/sluice" enqueue --to "$nats/$q/${q,,}${PARTITIONS:+?partitions=$PARTITIONS}" < "$work/seeds" 2> /dev/null
		t0=$EPOCHREALTIME
		pids=()
		for i in $(seq "$w"); do
			"$work/sluice" --in "$nats/$q/${q,,}?idle=1s&lease=2s" --out "$nats/$out" --follow --depth 100 -c 16 2> "$work/log.$i" &
			pids+=($!)
		done
		for _ in $(seq 6000); do # at most 5 minutes
			[ "$("$work/natscat" -server "$nats" -stream "${out^^}" -count 2> /dev/null || echo 0)" -ge "$n" ] && break
			sleep 0.05
		done
		t1=$EPOCHREALTIME
		for p in "${pids[@]}"; do wait "$p" || { echo "a worker failed:" >&2; cat "$work"/log.* >&2; exit 1; }; done
		got=$("$work/natscat" -server "$nats" -stream "${out^^}" -count)
		seen=$("$work/natscat" -server "$nats" -stream "KV_sluice_seen_$q" -bytes 2> /dev/null || echo 0)
		rm -f "$work"/log.*
		awk -v w="$w" -v a="$t0" -v b="$t1" -v got="$got" -v seen="$seen" 'BEGIN { printf "%d %.2f %d %d\n", w, b - a, got, seen }' >> "$work/times"
		echo "run $run, $w workers: $(tail -1 "$work/times")" >&2
	done
done
one=$(awk '$1 == 1 { print $2 }' "$work/times" | median)
echo "| workers | median s | spread s | records/s | speed-up | x linear | records out (of $n) | seen set bytes per URL |"
echo "|---|---|---|---|---|---|---|---|"
for w in ${WORKERS:-1 2 3 4}; do
	m=$(awk -v w="$w" '$1 == w { print $2 }' "$work/times" | median)
	printf '| %d | %s | %s | %.0f | %.2f | %.2f | %s | %s |\n' "$w" "$m" \
		"$(awk -v w="$w" '$1 == w { print $2 }' "$work/times" | spread)" \
		"$(awk -v m="$m" -v n="$n" 'BEGIN { print n / m }')" \
		"$(awk -v a="$one" -v m="$m" 'BEGIN { print a / m }')" \
		"$(awk -v a="$one" -v m="$m" -v w="$w" 'BEGIN { print a / m / w }')" \
		"$(awk -v w="$w" '$1 == w { print $3 }' "$work/times" | sort -u | paste -sd,)" \
		"$(awk -v w="$w" -v n="$n" '$1 == w { printf "%.0f\n", $4 / n }' "$work/times" | median)"
done
