package pipeline

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"sluice/natsq"
	"sluice/sources"
	"sluice/stages/crawl"
)

// queueCrawl makes q the frontier of the crawl cfg starts or joins
// (--in with --follow), and returns cfg with the crawl's settings.
func queueCrawl(ctx context.Context, q *sources.Queue, cfg crawl.Config) (crawl.Config, error) {
	s, err := q.Crawl(ctx, crawlSettings(cfg), cfg.Given, crawl.ScopeOf)
	if err != nil {
		return cfg, err
	}
	return applyCrawlSettings(cfg, s)
}

// crawlSettings are the settings of a crawl through a queue that cfg gives.
func crawlSettings(cfg crawl.Config) natsq.CrawlSettings {
	s := natsq.CrawlSettings{Scope: cfg.Scope, Depth: cfg.Depth, MaxRedirects: cfg.MaxRedirects, MaxPages: cfg.MaxPages,
		Include: patterns(cfg.Include), Exclude: patterns(cfg.Exclude)}
	if cfg.Revisit > 0 {
		s.Revisit = cfg.Revisit.String()
	}
	return s
}

// applyCrawlSettings gives cfg the crawl's settings s.
func applyCrawlSettings(cfg crawl.Config, s natsq.CrawlSettings) (crawl.Config, error) {
	cfg.Scope, cfg.Depth, cfg.MaxRedirects, cfg.MaxPages = s.Scope, s.Depth, s.MaxRedirects, s.MaxPages
	cfg.Revisit = 0
	if s.Revisit != "" {
		var err error
		if cfg.Revisit, err = time.ParseDuration(s.Revisit); err != nil {
			return cfg, fmt.Errorf("the crawl's --revisit %q: %w", s.Revisit, err)
		}
	}
	for _, p := range []struct {
		to   *[]*regexp.Regexp
		from []string
	}{{&cfg.Include, s.Include}, {&cfg.Exclude, s.Exclude}} {
		*p.to = nil
		for _, e := range p.from {
			re, err := regexp.Compile(e)
			if err != nil {
				return cfg, fmt.Errorf("the crawl's pattern %q: %w", e, err)
			}
			*p.to = append(*p.to, re)
		}
	}
	if err := crawl.CheckScope(cfg.Scope); err != nil {
		return cfg, fmt.Errorf("the crawl's --scope %q: %w", cfg.Scope, err)
	}
	return cfg, nil
}

func patterns(res []*regexp.Regexp) []string {
	var s []string
	for _, re := range res {
		s = append(s, re.String())
	}
	return s
}
