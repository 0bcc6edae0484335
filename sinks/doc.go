// Package sinks holds where records go: NDJSON writes one JSON object per
// record to a stream such as stdout, NATS publishes it to a JetStream
// subject. Both are flow Writers: flow.Sink drives them and keeps
// the sink side of the pass-through rule. Progress draws the status line.
package sinks
