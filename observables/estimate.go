package observables

import (
	"fmt"
	"math"
)

// Estimate is a Monte Carlo estimate: the mean and the standard error of the
// mean. Nobody should see a bare mean.
type Estimate struct {
	Mean float64 `json:"mean"`
	Err  float64 `json:"err"`
}

// String prints the estimate with the error to two significant digits and
// the mean to the same decimal place, for example "0.71392 ± 0.00041".
func (e Estimate) String() string {
	if math.IsNaN(e.Err) || math.IsInf(e.Err, 0) || e.Err <= 0 {
		return fmt.Sprintf("%.8g ± %g", e.Mean, e.Err)
	}
	decimals := 1 - int(math.Floor(math.Log10(e.Err)))
	if decimals < 0 {
		decimals = 0
	}
	if decimals > 15 {
		decimals = 15
	}
	return fmt.Sprintf("%.*f ± %.*f", decimals, e.Mean, decimals, e.Err)
}

// Deviation returns (Mean − exact)/Err, the deviation from an exact value in
// units of the error bar (NaN when the error is zero).
func (e Estimate) Deviation(exact float64) float64 {
	if e.Err == 0 {
		return math.NaN()
	}
	return (e.Mean - exact) / e.Err
}
