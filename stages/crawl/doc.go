// Package crawl is --follow: the frontier that feeds the schedule (bounded
// in memory, spilling to disk, resumable with --state), the exact seen set,
// scope, sitemaps, and the discover stage that offers a page's links. Its
// admission policy is Frontier's; a crawl through a queue offers its links
// to the queue's frontier instead (Offerer).
package crawl
