package config

import (
	"errors"
	"fmt"
	"regexp"
	"slices"

	"github.com/spf13/pflag"

	"sluice/stages/crawl"
)

// crawlFlags are --follow and its companions.
type crawlFlags struct {
	include, exclude []string
	changed          []string // companions given, for "needs --follow"
	redirectsSet     bool
}

var crawlCompanions = []string{"depth", "scope", "include", "exclude", "max-pages", "max-host-pages", "sitemaps", "state", "revisit"}

func (f *flags) defineCrawl(fs *pflag.FlagSet) {
	c := &f.cfg.Crawl
	fs.BoolVar(&c.Follow, "follow", false, "crawl: follow the links of each page fetched (as --extract links finds them) and its redirects, each URL once; the input lines are the seeds")
	defineCrawlSettings(fs, c, &f.crawl.include, &f.crawl.exclude)
	fs.Int64Var(&c.MaxHostPages, "max-host-pages", 0, "with --follow, admit at most this many URLs per host (0: no limit)")
	fs.BoolVar(&c.Sitemaps, "sitemaps", false, "with --follow, also crawl the URLs of each seed host's sitemaps (its robots.txt's Sitemap lines, else /sitemap.xml), as depth 1, within scope")
	fs.StringVar(&c.State, "state", "", "with --follow, keep the crawl's state in DIR: the same command run again after a kill or SIGINT goes on where it was")
	fs.DurationVar(&c.Revisit, "revisit", 0, "with --follow --in, a URL admitted this long ago may be crawled again (the seen keys' time to live on the server; 0: never)")
}

// defineCrawlSettings defines the flags of a crawl's settings, but
// --max-redirects (a fetch's flag too) and --revisit, for sluice and for
// sluice enqueue --follow.
func defineCrawlSettings(fs *pflag.FlagSet, c *crawl.Config, include, exclude *[]string) {
	fs.IntVar(&c.Depth, "depth", crawl.DefaultDepth, "with --follow, links followed from a seed at most (seeds are depth 0)")
	fs.StringVar(&c.Scope, "scope", crawl.ScopeHost, "with --follow, what a seed's crawl may reach: host (its host and port), domain (its registrable domain), prefix (its URL up to the last /), any")
	fs.StringArrayVar(include, "include", nil, "with --follow, follow only URLs this regular expression matches (repeatable: any may match)")
	fs.StringArrayVar(exclude, "exclude", nil, "with --follow, never follow URLs this regular expression matches (repeatable)")
	fs.Int64Var(&c.MaxPages, "max-pages", 0, "with --follow, admit at most this many URLs in all, seeds included (0: no limit)")
}

// checkCrawlSettings checks a crawl's settings and compiles its patterns.
func checkCrawlSettings(c *crawl.Config, include, exclude []string) error {
	switch {
	case c.Depth < 0:
		return fmt.Errorf("invalid argument %d for --depth: must not be negative", c.Depth)
	case crawl.CheckScope(c.Scope) != nil:
		return fmt.Errorf("invalid argument %q for --scope: %v", c.Scope, crawl.CheckScope(c.Scope))
	case c.MaxPages < 0:
		return fmt.Errorf("invalid argument %d for --max-pages: must not be negative", c.MaxPages)
	case c.Revisit < 0:
		return fmt.Errorf("invalid argument %v for --revisit: must not be negative", c.Revisit)
	case c.MaxRedirects < 0:
		return fmt.Errorf("invalid argument %d for --max-redirects: must not be negative", c.MaxRedirects)
	}
	var err error
	if c.Include, err = compileAll("--include", include); err != nil {
		return err
	}
	c.Exclude, err = compileAll("--exclude", exclude)
	return err
}

// changedCrawl notes which of the crawl's flags were given.
func (f *flags) changedCrawl(fs *pflag.FlagSet) {
	for _, name := range crawlCompanions {
		if fs.Changed(name) {
			f.crawl.changed = append(f.crawl.changed, name)
		}
	}
	f.crawl.redirectsSet = fs.Changed("max-redirects")
	c := &f.cfg.Crawl
	for _, name := range append(f.crawl.changed, "max-redirects") {
		if fs.Changed(name) && slices.Contains(CrawlSettings, name) {
			c.Given = append(c.Given, name)
		}
	}
}

// CrawlSettings are the flags of a crawl's settings: a crawl through a
// queue keeps them on the server, and every worker applies them.
var CrawlSettings = []string{"scope", "depth", "include", "exclude", "max-redirects", "max-pages", "revisit"}

// crawlConfig checks the crawl's flags and completes cfg.Crawl: a crawl
// extracts links, and follows redirects as tasks of its own.
func (f *flags) crawlConfig() error {
	cfg := &f.cfg
	c := &cfg.Crawl
	if !c.Follow {
		if len(f.crawl.changed) > 0 {
			return fmt.Errorf("--%s needs --follow", f.crawl.changed[0])
		}
		return nil
	}
	if err := checkCrawlSettings(c, f.crawl.include, f.crawl.exclude); err != nil {
		return err
	}
	switch {
	case c.MaxHostPages < 0:
		return fmt.Errorf("invalid argument %d for --max-host-pages: must not be negative", c.MaxHostPages)
	case c.Revisit > 0 && cfg.In == nil:
		return errors.New("--revisit needs --in: the seen set on one machine lives as long as the run (or --state)")
	case cfg.In != nil && (c.Sitemaps || c.MaxHostPages > 0 || c.State != ""):
		return errors.New("--sitemaps, --max-host-pages and --state do not take --in yet: a crawl through the queue keeps its state on the server (--state), and reads no sitemaps nor counts pages by host yet")
	case cfg.Resume != "":
		return errors.New("--follow does not take --resume: a crawl's record set is not the input's (see --state)")
	}
	c.WriteLinks = cfg.Extract.Links
	c.WritePage = cfg.Extract.Extracting()
	cfg.Extract.Links = true
	cfg.Fetch.KeepBody = true
	// Redirects are tasks of the crawl, each its own record, so that a
	// redirect out of scope is not fetched and one into it is fetched once.
	c.MaxRedirects = cfg.Fetch.MaxRedirects
	cfg.Fetch.MaxRedirects = 0
	return nil
}

func compileAll(flag string, exprs []string) ([]*regexp.Regexp, error) {
	var out []*regexp.Regexp
	for _, e := range exprs {
		re, err := regexp.Compile(e)
		if err != nil {
			return nil, fmt.Errorf("invalid argument %q for %s: %v", e, flag, err)
		}
		out = append(out, re)
	}
	return out, nil
}
