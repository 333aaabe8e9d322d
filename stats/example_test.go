package stats_test

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/isingflow/isingflow/stats"
)

// The mean of independent values with its standard error, and the
// deviation from an exact value in units of the error bar.
func ExampleMeanErr() {
	e := stats.MeanErr([]float64{-1.4535, -1.4527, -1.4533, -1.4529})
	fmt.Println(e)
	fmt.Printf("%.1fσ from −1.4531\n", e.Deviation(-1.4531))
	// Output:
	// -1.45310 ± 0.00018
	// 0.0σ from −1.4531
}

// Importance sampling of a Gaussian target exp(−x²/2) with a wider Gaussian
// proposal: ln Z = ln √(2π) ≈ 0.919, ⟨x²⟩ = 1.
func ExampleWeighted() {
	rng := rand.New(rand.NewPCG(1, 1))
	const m = 100000
	x2 := make([]float64, m)
	logw := make([]float64, m)
	for k := range logw {
		x := 1.5 * rng.NormFloat64()
		logp := -x*x/(2*1.5*1.5) - math.Log(1.5*math.Sqrt(2*math.Pi))
		logw[k] = -x*x/2 - logp
		x2[k] = x * x
	}
	w, _ := stats.NewWeighted(logw)
	fmt.Printf("ESS/M = %.2f\n", w.ESSFraction())
	fmt.Printf("ln Z within 4σ of ln √(2π): %v\n", math.Abs(w.LogPartition().Deviation(0.5*math.Log(2*math.Pi))) < 4)
	fmt.Printf("<x²> within 4σ of 1: %v\n", math.Abs(w.Mean(x2).Deviation(1)) < 4)
	// Output:
	// ESS/M = 0.83
	// ln Z within 4σ of ln √(2π): true
	// <x²> within 4σ of 1: true
}
