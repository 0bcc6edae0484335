// Package transport is how sluice connects: the DNS resolver of
// --dns-server, --deny-private's address check, the connection policy that
// keeps or closes a forgotten host's connections, the dial phases --trace
// reports, and the kinds a failed round trip is classified as.
package transport
