// Package sinks holds where records go: NDJSON writes one JSON object per
// record to a stream such as stdout.
package sinks
