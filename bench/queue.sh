#!/usr/bin/env bash
# Scale-out on one machine (issue 8): 30,000 URLs over 24 local hosts go
# through a NATS JetStream queue to an output stream, worked by 1 and by 3
# sluice processes, alternating, $RUNS runs each (default 3). Reports the
# time from the workers' start until the output stream holds every record,
# records in and out, and the duplicates the stream dropped by Nats-Msg-Id.
# On one 2-core machine the workers, the HTTP servers and nats-server share
# the cores, so 3 workers cannot be faster than 1 here: this measures the
# cost of the queue against sluice on a pipe (same URLs, stdin to stdout).
# Then --host-rate across the cluster (BenchmarkQueueClusterPoliteness).
# Not part of CI. Usage: bash bench/queue.sh
source "$(dirname "$0")/lib.sh"
runs=${RUNS:-3}
n=30000
build sluice . site ./internal/cmd/site natsd ./internal/cmd/natsd natscat ./internal/cmd/natscat
"$work/site" -ports 24 > "$work/hosts" &
server_pids+=($!)
serve nats "$work/natsd"
for _ in $(seq 100); do [ "$(wc -l < "$work/hosts")" = 24 ] && break; sleep 0.05; done
awk -v n=$n 'NR == FNR { h[k++] = $0; next } END { for (i = 0; i < n; i++) print h[i % k] "/hello?i=" i }' \
	"$work/hosts" /dev/null > "$work/urls"
flags=(-c 64 --host-concurrency 16)

: > "$work/times"
for run in $(seq "$runs"); do
	for w in 1 3; do
		q="Q${run}W$w" out="r${run}w$w"
		"$work/sluice" enqueue --to "$nats/$q/${q,,}" < "$work/urls" 2> /dev/null
		t0=$EPOCHREALTIME
		pids=()
		for i in $(seq "$w"); do
			"$work/sluice" --in "$nats/$q/${q,,}?idle=1s" --out "$nats/$out" "${flags[@]}" --stats 2> "$work/log.$i" &
			pids+=($!)
		done
		for _ in $(seq 6000); do # at most 5 minutes
			[ "$("$work/natscat" -server "$nats" -stream "${out^^}" -count 2> /dev/null || echo 0)" -ge $n ] && break
			sleep 0.05
		done
		t1=$EPOCHREALTIME
		wait "${pids[@]}"
		got=$("$work/natscat" -server "$nats" -stream "${out^^}" -count)
		dups=$(sed -n 's/.*, \([0-9]*\) of them dropped.*/\1/p' "$work"/log.* | awk '{ s += $1 } END { print s + 0 }')
		rm -f "$work"/log.*
		awk -v w="$w" -v a="$t0" -v b="$t1" -v got="$got" -v d="$dups" 'BEGIN { printf "%d %.2f %d %d\n", w, b - a, got, d }' >> "$work/times"
	done
	t0=$EPOCHREALTIME
	"$work/sluice" "${flags[@]}" < "$work/urls" > /dev/null
	t1=$EPOCHREALTIME
	awk -v a="$t0" -v b="$t1" -v n=$n 'BEGIN { printf "0 %.2f %d 0\n", b - a, n }' >> "$work/times"
done
echo "| workers | median s | spread s | records/s | records out (of $n) | duplicates dropped |"
echo "|---|---|---|---|---|---|"
for w in 0 1 3; do
	label=$w
	[ "$w" = 0 ] && label="sluice on a pipe (no queue)"
	m=$(awk -v w="$w" '$1 == w { print $2 }' "$work/times" | median)
	printf '| %s | %s | %s | %.0f | %s | %s |\n' "$label" "$m" "$(awk -v w="$w" '$1 == w { print $2 }' "$work/times" | spread)" \
		"$(awk -v m="$m" -v n=$n 'BEGIN { print n / m }')" \
		"$(awk -v w="$w" '$1 == w { print $3 }' "$work/times" | sort -u | paste -sd,)" \
		"$(awk -v w="$w" '$1 == w { s += $4 } END { print s + 0 }' "$work/times")"
done

echo
echo "## --host-rate holds for the cluster: 3 workers, one host of 6 at 10/s (150 of 900 URLs)"
# The Go benchmark measures at the limited host's own server; 10/s + 5% is
# 31.5 requests in any 3 s, plus the bucket's one.
go test -run '^$' -bench QueueClusterPoliteness -benchtime 1x . | tee "$work/polite"
awk '/BenchmarkQueueClusterPoliteness/ { for (i = 1; i < NF; i++) { if ($(i + 1) == "req/s@limited") r = $i; if ($(i + 1) == "most-in-3s") m = $i } }
	END { if (r == "" || r > 10.5 || m > 32) { print "FAIL: the limited host got " r "/s, " m " in 3 s; want at most 10.5/s and 32"; exit 1 }
	      print "ok: " r "/s at the limited host, at most " m " requests in any 3 s" }' "$work/polite"
