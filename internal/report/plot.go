package report

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

var sansOnce sync.Once

// plotBins is how many bars the latency histogram has, spaced evenly on
// a log scale between the fastest and the slowest record.
const plotBins = 40

// plotOutcomes is how many outcomes get a bar of their own; the rest share
// one.
const plotOutcomes = 12

// Plot draws the latency histogram (elapsed_ms, log scale, with p50, p90
// and p99 marked) beside the records by outcome, to a .png or .svg file
// (gonum.org/v1/plot).
func (r *Report) Plot(name string, s Summary) error {
	sansOnce.Do(func() { plot.DefaultFont.Variant = "Sans" }) // Liberation Sans, built into gonum/plot
	if s.Latency == nil {
		return fmt.Errorf("no record made a request: nothing to draw")
	}
	latency, err := r.latencyPlot(*s.Latency)
	if err != nil {
		return err
	}
	outcomes, err := outcomePlot(s)
	if err != nil {
		return err
	}
	w, h := 11*vg.Inch, 4.5*vg.Inch
	var c interface {
		vg.CanvasSizer
		io.WriterTo
	}
	if strings.EqualFold(filepath.Ext(name), ".svg") {
		c = vgsvg.New(w, h)
	} else {
		c = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(110))}
	}
	dc := draw.New(c)
	tiles := draw.Tiles{Cols: 2, Rows: 1, PadX: vg.Inch / 3, PadTop: vg.Inch / 8, PadBottom: vg.Inch / 8, PadLeft: vg.Inch / 8, PadRight: vg.Inch / 4}
	latency.Draw(tiles.At(dc, 0, 0))
	outcomes.Draw(tiles.At(dc, 1, 0))
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if _, err := c.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (r *Report) latencyPlot(q Quantiles) (*plot.Plot, error) {
	lo := max(q.Min, 0.001) // a log scale has no 0: faster goes in the first bar
	hi := max(q.Max, lo*1.5)
	step := (math.Log10(hi) - math.Log10(lo)) / plotBins
	bins := make([]plotter.HistogramBin, plotBins)
	for i := range bins {
		bins[i].Min = math.Pow(10, math.Log10(lo)+float64(i)*step)
		bins[i].Max = math.Pow(10, math.Log10(lo)+float64(i+1)*step)
	}
	top := 0.0
	r.elapsed.ForEach(func(v, n float64) bool {
		i := 0
		if v > lo {
			i = min(int((math.Log10(v)-math.Log10(lo))/step), plotBins-1)
		}
		bins[i].Weight += n
		top = max(top, bins[i].Weight)
		return false
	})
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Latency: %d requests, elapsed_ms", q.Count)
	p.X.Label.Text = "ms (log scale)"
	p.Y.Label.Text = "records"
	p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
	p.Add(plotter.NewGrid())
	hist := &plotter.Histogram{Bins: bins, FillColor: color.RGBA{R: 42, G: 122, B: 176, A: 255}}
	hist.LineStyle.Width = vg.Length(0.5)
	hist.LineStyle.Color = color.White
	p.Add(hist)
	for _, m := range []struct {
		name string
		v    float64
		c    color.RGBA
	}{{"p50", q.P50, color.RGBA{G: 140, A: 255}}, {"p90", q.P90, color.RGBA{R: 230, G: 140, A: 255}}, {"p99", q.P99, color.RGBA{R: 200, A: 255}}} {
		l, err := plotter.NewLine(plotter.XYs{{X: max(m.v, lo), Y: 0}, {X: max(m.v, lo), Y: top}})
		if err != nil {
			return nil, err
		}
		l.Color, l.Width, l.Dashes = m.c, vg.Points(1.5), []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("%s %s ms", m.name, trim(m.v)), l)
	}
	p.Legend.Top = true
	p.Y.Min, p.Y.Max = 0, top*1.3 // room for the legend
	return p, nil
}

func outcomePlot(s Summary) (*plot.Plot, error) {
	outs := s.Outcomes
	if len(outs) > plotOutcomes {
		rest := Outcome{Outcome: fmt.Sprintf("%d more", len(outs)-plotOutcomes+1)}
		for _, o := range outs[plotOutcomes-1:] {
			rest.Records += o.Records
		}
		outs = append(outs[:plotOutcomes-1:plotOutcomes-1], rest)
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Outcomes: %d records", s.Records)
	p.X.Label.Text = "records"
	p.Add(plotter.NewGrid())
	names := make([]string, len(outs))
	for i, o := range outs {
		names[len(outs)-1-i] = fmt.Sprintf("%s (%.1f%%)", o.Outcome, 100*float64(o.Records)/float64(s.Records))
		vs := make(plotter.Values, len(outs))
		vs[len(outs)-1-i] = float64(o.Records) // the most common at the top
		bar, err := plotter.NewBarChart(vs, vg.Points(14))
		if err != nil {
			return nil, err
		}
		bar.Horizontal, bar.Color, bar.LineStyle.Width = true, outcomeColor(o.Outcome), 0
		p.Add(bar)
	}
	p.NominalY(names...)
	return p, nil
}

// outcomeColor is green for 2xx, blue for 3xx, orange for 4xx, red for
// 5xx, and grey for error kinds.
func outcomeColor(o string) color.Color {
	if len(o) == 3 && o[0] >= '1' && o[0] <= '5' && o[1] >= '0' && o[1] <= '9' {
		switch o[0] {
		case '2':
			return color.RGBA{R: 60, G: 160, B: 80, A: 255}
		case '3':
			return color.RGBA{R: 42, G: 122, B: 176, A: 255}
		case '4':
			return color.RGBA{R: 230, G: 140, B: 30, A: 255}
		case '5':
			return color.RGBA{R: 200, G: 50, B: 40, A: 255}
		}
	}
	return color.RGBA{R: 120, G: 120, B: 130, A: 255}
}

// trim writes a number of ms with three significant digits, or as a
// whole number from 100 up.
func trim(v float64) string {
	if v >= 100 {
		return strconv.FormatFloat(math.Round(v), 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}
