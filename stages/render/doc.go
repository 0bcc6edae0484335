// Package render is --render: pages rendered in headless Chromium, whose
// every request comes to sluice through a proxy of its own on loopback and
// is made by the fetch stage, so the schedule's limits, --deny-private, the
// cache and WARC capture hold for it.
package render
