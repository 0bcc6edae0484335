#!/usr/bin/env bash
# Scaling through the queue (issue 19): a latency-bound job, $N URLs
# (default 12,000) over 48 local hosts whose answers take 50 ms, worked by
# 1, 2, 4 and 8 sluice processes with -c 16 each. Latency-bound, so the
# workers are not short of CPU on this machine: the ideal is
# N x 50 ms / (16 x workers). The queue is loaded first, then the workers
# start together. Reports, medians of $RUNS (default 3): the time from the
# workers' start until the output stream holds every record, records/s,
# the speed-up over one worker against linear, and the most records one
# worker did against its fair share (N / workers).
# Not part of CI. Usage: bash bench/queue-scale.sh   (RUNS=1 N=6000 PARTS=64
# HOSTS=480 WORKERS="1 4" to change; LOGS=DIR keeps each worker's -v log
# there)
source "$(dirname "$0")/lib.sh"
runs=${RUNS:-3}
n=${N:-12000}
parts=${PARTS:-16}
nhosts=${HOSTS:-48}
build sluice . site ./internal/cmd/site natsd ./internal/cmd/natsd natscat ./internal/cmd/natscat
"$work/site" -ports "$nhosts" > "$work/hosts" &
server_pids+=($!)
serve nats "$work/natsd"
for _ in $(seq 100); do [ "$(wc -l < "$work/hosts")" = "$nhosts" ] && break; sleep 0.05; done
awk -v n="$n" 'NR == FNR { h[k++] = $0; next } END { for (i = 0; i < n; i++) print h[i % k] "/slow/50?i=" i }' \
	"$work/hosts" /dev/null > "$work/urls"

# share LOG...: the most records one worker did (its -v lines).
share() { for f in "$@"; do grep -c '^sluice: #' "$f" || true; done | sort -n | tail -1; }

: > "$work/times"
for run in $(seq "$runs"); do
	for w in ${WORKERS:-1 2 4 8}; do
		q="S${run}W$w" out="r${run}w$w"
		"$work/sluice" enqueue --to "$nats/$q/${q,,}?partitions=$parts" < "$work/urls" 2> /dev/null
		t0=$EPOCHREALTIME
		pids=()
		for i in $(seq "$w"); do
			"$work/sluice" --in "$nats/$q/${q,,}?idle=1s&lease=2s" --out "$nats/$out" -c 16 -v 2> "$work/log.$i" &
			pids+=($!)
		done
		for _ in $(seq 6000); do # at most 5 minutes
			[ "$("$work/natscat" -server "$nats" -stream "${out^^}" -count 2> /dev/null || echo 0)" -ge "$n" ] && break
			sleep 0.05
		done
		t1=$EPOCHREALTIME
		wait "${pids[@]}"
		got=$("$work/natscat" -server "$nats" -stream "${out^^}" -count)
		most=$(share "$work"/log.*)
		if [ -n "${LOGS:-}" ]; then mkdir -p "$LOGS/$run-$w" && cp "$work"/log.* "$LOGS/$run-$w/"; fi
		rm -f "$work"/log.*
		awk -v w="$w" -v a="$t0" -v b="$t1" -v got="$got" -v p="$most" 'BEGIN { printf "%d %.2f %d %d\n", w, b - a, got, p }' >> "$work/times"
		echo "run $run, $w workers: $(tail -1 "$work/times")" >&2
	done
done
one=$(awk '$1 == 1 { print $2 }' "$work/times" | median)
echo "| workers | median s | spread s | ideal s | records/s | speed-up | x linear | records out (of $n) | most records of one worker, x fair share |"
echo "|---|---|---|---|---|---|---|---|---|"
for w in ${WORKERS:-1 2 4 8}; do
	m=$(awk -v w="$w" '$1 == w { print $2 }' "$work/times" | median)
	printf '| %d | %s | %s | %.2f | %.0f | %.2f | %.2f | %s | %.2f |\n' "$w" "$m" \
		"$(awk -v w="$w" '$1 == w { print $2 }' "$work/times" | spread)" \
		"$(awk -v n="$n" -v w="$w" 'BEGIN { print n * 0.05 / (16 * w) }')" \
		"$(awk -v m="$m" -v n="$n" 'BEGIN { print n / m }')" \
		"$(awk -v a="$one" -v m="$m" 'BEGIN { print a / m }')" \
		"$(awk -v a="$one" -v m="$m" -v w="$w" 'BEGIN { print a / m / w }')" \
		"$(awk -v w="$w" '$1 == w { print $3 }' "$work/times" | sort -u | paste -sd,)" \
		"$(awk -v w="$w" -v n="$n" '$1 == w { print $4 / (n / w) }' "$work/times" | sort -n | tail -1)"
done
