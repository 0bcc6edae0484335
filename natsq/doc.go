// Package natsq is sluice's NATS JetStream scheme, in one place for the
// queue source (sluice --in), the NATS sink (--out) and `sluice enqueue`:
// the URLs that name a queue or a subject, the connection, the streams and
// their partitioning, and the messages that go into them.
//
// The queue: a JetStream stream STREAM takes one message per input record
// (a URL line or an NDJSON object, as on stdin) on the subject
// SUBJECT.<token>, the token naming the record's host (HostToken), so any
// NATS client can enqueue. The server partitions: the stream's subject
// transform stores the message as SUBJECT.<n>.<token>, n the partition of
// the token. The number of partitions is fixed when the stream is made and
// kept in the stream's metadata under PartitionsKey. Partition n is
// delivered by the durable pull consumer ConsumerName(durable, n) and
// worked by one worker at a time, which holds a lease on it in the
// key-value bucket LeaseBucket(STREAM); so the per-host limits of that
// worker are the cluster's.
//
// The output: each record is one message on the --out subject, its JSON
// object with Nats-Msg-Id set to the input message's stream and sequence, so
// a message worked twice is stored once within the stream's duplicate
// window.
package natsq
