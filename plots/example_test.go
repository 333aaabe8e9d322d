package plots_test

import (
	"fmt"
	"strings"

	"gonum.org/v1/plot"

	"github.com/isingflow/isingflow/plots"
)

// The labels of gonum/plot's default ticks round the values of a narrow
// range; Ticks labels them exactly. On a logarithmic axis it labels 1, 2
// and 5 times the powers of ten.
func ExampleTicks() {
	show := func(m plot.Ticker, lo, hi float64) {
		var labels []string
		for _, t := range m.Ticks(lo, hi) {
			if t.Label != "" {
				labels = append(labels, t.Label)
			}
		}
		fmt.Println(strings.Join(labels, " "))
	}
	show(plot.DefaultTicks{}, -2.157, -1.95)
	show(plots.Ticks{}, -2.157, -1.95)
	show(plots.Ticks{Log: true}, 0.0015, 0.06)
	// Output:
	// -2.1 -2 -1.9
	// -2.15 -2.05 -1.95
	// 0.002 0.005 0.01 0.02 0.05
}
