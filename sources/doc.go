// Package sources holds where records come from: Lines reads
// newline-delimited URL or NDJSON input from files or stdin; Queue is a
// worker of a NATS JetStream work queue (the scheme is natsq's).
// Both start their goroutines when connected, not when made.
package sources
