#!/usr/bin/env bash
# Draws bench/webscale.png from the web-scale tables of a BENCHMARKS.md
# (scenario 8, TLS over many hosts, and scenario 9, thousands of
# connections): handshakes/s and peak RSS per tool, wall time against the
# ideal and peak RSS. bench/run.sh calls it after writing BENCHMARKS.md; by
# hand: bash bench/webscale-plot.sh [BENCHMARKS.md]. Needs gnuplot.
set -euo pipefail
cd "$(dirname "$0")/.."
md=${1:-BENCHMARKS.md}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# table N: the rows of the table that follows the line starting "N. ", as
# space-separated fields without the header and the rule.
table() {
	awk -v n="$1. " 'index($0, n) == 1 { on = 1; next }
		on && /^\|/ { rows++; if (rows > 2) { gsub(/ *\| */, " "); print } ; next }
		on && rows { exit }' "$md"
}
# scenario 8: tool requests wall handshakes/s cpu_us rss ratio
table 8 | awk '{ print $1, $4, $6 }' > "$work/tls"
# (xargs' peak RSS is its own, not its curls': left out of the RSS panel)
grep -v '^curl ' "$work/tls" > "$work/tls-rss"
# scenario 9: tool wall x_ideal rss kb_per_conn
table 9 | awk '{ print $1, $3, $4 }' > "$work/conns"
[ -s "$work/tls" ] && [ -s "$work/conns" ] || { echo "$md has no tables 8 and 9" >&2; exit 1; }
date=$(sed -n 's/.*RUNS=[0-9]*) on \([0-9-]*\).*/\1/p' "$md" | head -1)

gnuplot <<PLOT
set terminal pngcairo size 1000,700 noenhanced
set output "bench/webscale.png"
set multiplot layout 2,2 title "Web scale on loopback (medians of 3 runs, $date)"
set style data histograms
set style fill solid 0.8 border -1
set boxwidth 0.7
set grid ytics
unset key
set title "TLS: 5,000 hosts, a handshake each, -c 64 — handshakes/s"
set yrange [0:*]
plot "$work/tls" using 2:xtic(1) lc rgb "#2a7ab0"
set title "TLS: peak RSS MiB (log)"
set logscale y
set yrange [1:*]
plot "$work/tls-rss" using 3:xtic(1) lc rgb "#c0504d"
unset logscale y
set title "5,000 connections answering in 1 s — wall / ideal 4 s"
set yrange [0:*]
plot "$work/conns" using 2:xtic(1) lc rgb "#2a7ab0"
set title "5,000 connections — peak RSS MiB"
plot "$work/conns" using 3:xtic(1) lc rgb "#c0504d"
unset multiplot
PLOT
