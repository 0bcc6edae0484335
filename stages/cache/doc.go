// Package cache is --cache: the rules of RFC 9111 (what may be stored,
// when a response is fresh, how a request is made conditional, what a 304
// updates) over Stored, the response as kept, and Store, which keeps them
// on disk between runs. The fetch stage asks it around each attempt.
package cache
