// Command crawlplot draws bench/crawl.png from the samples bench/crawl.sh
// takes of a crawl while it runs: lines of "seconds records rss_kib", one
// file per crawl given as NAME=FILE. Two panels: pages per second (over
// each sample's interval) and peak RSS, against time.
//
//	go run ./bench/crawlplot -o bench/crawl.png 100k=a.tsv 1M=b.tsv
package main

import (
	"bufio"
	"flag"
	"fmt"
	"image/color"
	"os"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

var colors = []color.Color{color.RGBA{42, 122, 176, 255}, color.RGBA{214, 96, 39, 255}, color.RGBA{60, 160, 80, 255}}

func main() {
	out := flag.String("o", "bench/crawl.png", "the PNG to write")
	title := flag.String("title", "sluice --follow over the local link graph", "the plot's title")
	flag.Parse()
	rate, rss := plot.New(), plot.New()
	rate.Title.Text, rate.X.Label.Text, rate.Y.Label.Text = *title+": pages/s", "seconds", "pages/s"
	rss.Title.Text, rss.X.Label.Text, rss.Y.Label.Text = "resident memory", "seconds", "MiB"
	for _, p := range []*plot.Plot{rate, rss} {
		p.Add(plotter.NewGrid())
		p.Legend.Top = true
	}
	for i, arg := range flag.Args() {
		name, file, ok := strings.Cut(arg, "=")
		if !ok {
			fail(fmt.Errorf("%q: want NAME=FILE", arg))
		}
		pages, mem, err := read(file)
		if err != nil {
			fail(err)
		}
		for _, s := range []struct {
			p   *plot.Plot
			xys plotter.XYs
		}{{rate, pages}, {rss, mem}} {
			l, err := plotter.NewLine(s.xys)
			if err != nil {
				fail(err)
			}
			l.Color, l.Width = colors[i%len(colors)], vg.Points(1.5)
			s.p.Add(l)
			s.p.Legend.Add(name, l)
		}
	}
	img := vgimg.New(11*vg.Inch, 4.5*vg.Inch)
	dc := draw.New(img)
	tiles := draw.Tiles{Cols: 2, Rows: 1, PadX: vg.Inch / 3, PadTop: vg.Inch / 8, PadBottom: vg.Inch / 8, PadLeft: vg.Inch / 8, PadRight: vg.Inch / 4}
	for i, p := range []*plot.Plot{rate, rss} {
		p.Draw(tiles.At(dc, i, 0))
	}
	f, err := os.Create(*out)
	if err != nil {
		fail(err)
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		fail(err)
	}
	if err := f.Close(); err != nil {
		fail(err)
	}
}

// read returns pages/s and RSS in MiB against time from a sample file.
func read(name string) (pages, mem plotter.XYs, err error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var lastT, lastN float64
	for sc.Scan() {
		var t, n, kib float64
		if _, err := fmt.Sscan(sc.Text(), &t, &n, &kib); err != nil {
			return nil, nil, fmt.Errorf("%s: %q: %v", name, sc.Text(), err)
		}
		if t > lastT {
			pages = append(pages, plotter.XY{X: t, Y: (n - lastN) / (t - lastT)})
		}
		mem = append(mem, plotter.XY{X: t, Y: kib / 1024})
		lastT, lastN = t, n
	}
	return pages, mem, sc.Err()
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "crawlplot:", err)
	os.Exit(1)
}
