package report

import (
	"fmt"
	"io"
	"os"
)

// Options are what `sluice report`'s flags decide.
type Options struct {
	Files  []string // none: stdin; "-" is stdin
	Format string   // text, json or md
	Plot   string   // a .png or .svg file to draw to; "" for none
	Hosts  int      // rows of each host table
}

// Run reads the files, or stdin, and writes the report to stdout.
func Run(o Options, stdin io.Reader, stdout io.Writer) error {
	r := New()
	files := o.Files
	if len(files) == 0 {
		files = []string{"-"}
	}
	for _, name := range files {
		if err := r.readFile(name, stdin); err != nil {
			return err
		}
	}
	s := r.Summary(o.Hosts)
	var err error
	switch o.Format {
	case "json":
		err = s.WriteJSON(stdout)
	default:
		err = s.WriteText(stdout, o.Format == "md")
	}
	if err != nil {
		return err
	}
	if o.Plot != "" {
		if err := r.Plot(o.Plot, s); err != nil {
			return fmt.Errorf("--plot: %w", err)
		}
	}
	return nil
}

func (r *Report) readFile(name string, stdin io.Reader) error {
	if name == "-" {
		return r.Read(stdin)
	}
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := r.Read(f); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
