package config

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/spf13/pflag"

	"sluice/stages/render"
)

// renderCompanions are --render's, for "needs --render".
var renderCompanions = []string{"render-wait", "render-timeout", "render-workers", "render-load", "screenshot", "screenshot-full"}

func (f *flags) defineRender(fs *pflag.FlagSet) {
	r := &f.cfg.Render
	fs.BoolVar(&r.On, "render", false, "render HTML pages in headless Chromium (Debian's chromium) after fetching them: extraction and --follow read the DOM the page's scripts built; every request the page makes goes through sluice")
	fs.StringVar(&r.Wait, "render-wait", render.RenderIdle, "with --render, when a page is done: idle (no request for 500ms), load (its load event), or a CSS selector that must appear")
	fs.DurationVar(&r.Timeout, "render-timeout", 15*time.Second, "with --render, a page's time at most; a page that takes longer is extracted as it stands (render.timed_out)")
	fs.IntVar(&r.Workers, "render-workers", min(2, runtime.NumCPU()), "with --render, pages rendered at a time, one browser tab each (apart from -c)")
	fs.StringVar(&r.Screenshots, "screenshot", "", "with --render, write a PNG of each rendered page (1280x800) to `DIR`/SEQ.png; its path in render.screenshot")
	fs.BoolVar(&r.FullPage, "screenshot-full", false, "with --screenshot, of the whole page, not the viewport")
	fs.StringVar(&f.renderLoad, "render-load", "scripts", "with --render, what a page may load: scripts (documents, scripts, styles, XHR and fetch; no images, fonts or media) or all")
}

// renderConfig checks --render's flags.
func (f *flags) renderConfig(fs *pflag.FlagSet) error {
	r := &f.cfg.Render
	if !r.On {
		for _, name := range renderCompanions {
			if fs.Changed(name) {
				return fmt.Errorf("--%s needs --render", name)
			}
		}
		return nil
	}
	switch {
	case r.Wait == "":
		return fmt.Errorf("invalid argument \"\" for --render-wait: idle, load, or a CSS selector")
	case r.Timeout <= 0:
		return fmt.Errorf("invalid argument %v for --render-timeout: must be positive", r.Timeout)
	case r.Workers < 1:
		return fmt.Errorf("invalid argument %d for --render-workers: must be at least 1", r.Workers)
	case f.renderLoad != "scripts" && f.renderLoad != "all":
		return fmt.Errorf("invalid argument %q for --render-load: scripts or all", f.renderLoad)
	}
	if r.Wait != render.RenderIdle && r.Wait != render.RenderLoad {
		if err := render.CheckSelector(r.Wait); err != nil {
			return fmt.Errorf("invalid argument %q for --render-wait: %v", r.Wait, err)
		}
	}
	if r.FullPage && r.Screenshots == "" {
		return errors.New("--screenshot-full needs --screenshot DIR")
	}
	if r.Screenshots != "" {
		if err := os.MkdirAll(r.Screenshots, 0o755); err != nil {
			return fmt.Errorf("invalid argument %q for --screenshot: %v", r.Screenshots, err)
		}
	}
	r.LoadAll = f.renderLoad == "all"
	f.cfg.Fetch.KeepBody = true
	f.cfg.Fetch.KeepHeader = true
	return nil
}
