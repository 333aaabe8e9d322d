package main

import (
	"testing"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/model"
)

// BenchmarkDenseTrainStep is one optimisation step of the dense
// "isingflow -L 16 -T 2.269 --potential dense" model (ten blocks of a
// dense H = 512 ln cosh potential plus a circulant quadratic, 50 RK4 steps
// of 0.1, batch 64; the default model until the multiscale potential of
// model's BenchmarkMultiscaleTrainStep): what that run spends per step, beside flow's
// BenchmarkIsingTrainStep, which times the paper's single potential alone;
// with float64 and with float32 products, and with the full and the path
// gradient (sub-benchmarks L16/…). L32/float32/path is the same model at
// L = 32, where the quadratic part's N×N products outweigh the network's.
func BenchmarkDenseTrainStep(b *testing.B) {
	for _, prec := range []flow.Precision{flow.Float64, flow.Float32} {
		for _, gradient := range []string{model.GradientFull, model.GradientPath} {
			b.Run("L16/"+prec.String()+"/"+gradient, func(b *testing.B) { benchDenseTrainStep(b, "16", prec, gradient) })
		}
	}
	b.Run("L32/float32/path", func(b *testing.B) { benchDenseTrainStep(b, "32", flow.Float32, model.GradientPath) })
}

func benchDenseTrainStep(b *testing.B, size string, prec flow.Precision, gradient string) {
	fs := newFlagSet("train", nil)
	var a trainArgs
	a.register(fs)
	if err := parseFlags(fs, []string{"-L", size, "-T", "2.269", "--potential", "dense", "--gradient", gradient}); err != nil {
		b.Fatal(err)
	}
	if err := a.settle(fs); err != nil {
		b.Fatal(err)
	}
	m, err := a.mc.Build()
	if err != nil {
		b.Fatal(err)
	}
	tr, err := m.NewTrainer(&a.tc)
	if err != nil {
		b.Fatal(err)
	}
	flow.SetPrecision(m.Flow.Potential, prec)
	for b.Loop() {
		if _, err := tr.TrainStep(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/step")
	b.ReportMetric(0, "ns/op")
}
