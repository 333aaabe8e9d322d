//go:build goexperiment.simd

package symmetry

import (
	"math"
	"simd/archsimd"
)

// With GOEXPERIMENT=simd (scripts/isingflow builds with it when the
// toolchain has it) the loops over the sites of Multiscale's GradLaplacian
// and GradLaplacianVJP run four float64 lanes at a time with AVX2 and FMA,
// where the CPU has them, for kernels of at most maxVecOrbits orbits;
// otherwise, and for the last n mod 4 sites, the scalar loops of
// multiscale.go run. The lanes compute what the scalar loops compute, with
// fused multiply-adds where the scalar code rounds twice.

// msVector reports whether the CPU runs the vector loops.
var msVector = archsimd.X86.AVX2() && archsimd.X86.FMA()

// maxVecOrbits is the largest number of kernel orbits the vector loops
// take (10: radius 2 in three dimensions).
const maxVecOrbits = 10

func msSplat(v float64) archsimd.Float64x4 { return archsimd.BroadcastFloat64x4(v) }

// Constants of the exponential, flow's expNonPositive's (flow/exp.go).
const (
	msExpLn2Hi   = 6.93147180369123816490e-01
	msExpLn2Lo   = 1.90821492927058770002e-10
	msExpShifter = 0x1.8p52
	msExpFloor   = -700
)

// msExp4 returns e^x on four lanes for −700 ≤ x ≤ 0 (below, e^−700), as
// flow's expNonPositive4: x = k ln 2 + y, e^y − 1 from its Taylor
// polynomial of degree 13 by Estrin's scheme, 2^k set in the exponent.
func msExp4(x archsimd.Float64x4) archsimd.Float64x4 {
	x = x.Max(msSplat(msExpFloor))
	sh := msSplat(msExpShifter)
	t := x.MulAdd(msSplat(math.Log2E), sh)
	k := t.Sub(sh)
	y := k.MulAdd(msSplat(-msExpLn2Hi), x)
	y = k.MulAdd(msSplat(-msExpLn2Lo), y)
	y2 := y.Mul(y)
	y4 := y2.Mul(y2)
	q0 := y2.MulAdd(y.MulAdd(msSplat(1.0/6), msSplat(1.0/2)), y)
	q1 := y2.MulAdd(y.MulAdd(msSplat(1.0/5040), msSplat(1.0/720)), y.MulAdd(msSplat(1.0/120), msSplat(1.0/24)))
	q2 := y2.MulAdd(y.MulAdd(msSplat(1.0/39916800), msSplat(1.0/3628800)), y.MulAdd(msSplat(1.0/362880), msSplat(1.0/40320)))
	s0 := y4.MulAdd(q1, q0)
	s1 := y4.MulAdd(y.MulAdd(msSplat(1.0/6227020800), msSplat(1.0/479001600)), q2)
	p := y4.Mul(y4).MulAdd(s1, s0).Add(msSplat(1))
	pow2k := t.AsInt64x4().Sub(sh.AsInt64x4()).Add(archsimd.BroadcastInt64x4(1023)).ShiftAllLeft(52)
	return p.Mul(pow2k.AsFloat64x4())
}

// lncosh4 returns σ' = tanh u and σ” = 1 − tanh² u on four lanes from
// e = e^{−2|u|}: sign(u)(1−e)/(1+e) and 4e/(1+e)².
func lncosh4(u archsimd.Float64x4) (d1, d2 archsimd.Float64x4) {
	sign := archsimd.BroadcastInt64x4(math.MinInt64)
	one := msSplat(1)
	abs := u.AsInt64x4().AndNot(sign).AsFloat64x4()
	e := msExp4(abs.Mul(msSplat(-2)))
	inv := one.Div(one.Add(e))
	d1 = one.Sub(e).Mul(inv).AsInt64x4().Or(u.AsInt64x4().And(sign)).AsFloat64x4()
	return d1, e.Mul(msSplat(4)).Mul(inv).Mul(inv)
}

func msSum4(v archsimd.Float64x4) float64 {
	var lanes [4]float64
	v.Store(&lanes)
	return (lanes[0] + lanes[1]) + (lanes[2] + lanes[3])
}

// glLoopVec runs glLoop on the first n − n mod 4 sites and returns how
// many it did (0 without AVX2 and FMA) and their Σ σ”.
func glLoopVec(hh, oy [][]float64, th []float64, v float64, n int) (done int, sum2 float64) {
	norb := len(th)
	if !msVector || norb > maxVecOrbits {
		return 0, 0
	}
	n4 := n &^ 3
	var thv [maxVecOrbits]archsimd.Float64x4
	for o, a := range th {
		thv[o] = msSplat(a)
	}
	vv := msSplat(v)
	acc := msSplat(0)
	for j := 0; j < n4; j += 4 {
		u := thv[0].Mul(archsimd.LoadFloat64x4Slice(oy[0][j:]))
		for o := 1; o < norb; o++ {
			u = thv[o].MulAdd(archsimd.LoadFloat64x4Slice(oy[o][j:]), u)
		}
		t, s2 := lncosh4(u)
		acc = acc.Add(s2)
		h := vv.Mul(t)
		for o := range norb {
			p := hh[o][j:]
			thv[o].MulAdd(h, archsimd.LoadFloat64x4Slice(p)).StoreSlice(p)
		}
	}
	return n4, msSum4(acc)
}

// vjpLoopVec runs vjpLoop on the first n − n mod 4 sites and returns how
// many it did (0 without AVX2 and FMA) and their Σ σ' g and Σ σ”.
func vjpLoopVec(hh [][]float64, dk []float64, oy, ol [][]float64, th []float64, v, mr float64, n int) (done int, tg, sum2 float64) {
	norb := len(th)
	if !msVector || norb > maxVecOrbits {
		return 0, 0, 0
	}
	n4 := n &^ 3
	var thv, dkv [maxVecOrbits]archsimd.Float64x4
	for o, a := range th {
		thv[o] = msSplat(a)
		dkv[o] = msSplat(0)
	}
	vv, mv, m2 := msSplat(v), msSplat(mr), msSplat(-2)
	accTG, acc2 := msSplat(0), msSplat(0)
	for j := 0; j < n4; j += 4 {
		y0 := archsimd.LoadFloat64x4Slice(oy[0][j:])
		l0 := archsimd.LoadFloat64x4Slice(ol[0][j:])
		u := thv[0].Mul(y0)
		g := thv[0].Mul(l0)
		for o := 1; o < norb; o++ {
			u = thv[o].MulAdd(archsimd.LoadFloat64x4Slice(oy[o][j:]), u)
			g = thv[o].MulAdd(archsimd.LoadFloat64x4Slice(ol[o][j:]), g)
		}
		t, s2 := lncosh4(u)
		s3 := m2.Mul(t).Mul(s2)
		accTG = t.MulAdd(g, accTG)
		acc2 = acc2.Add(s2)
		h := vv.Mul(s2.MulAdd(g, mv.Mul(s3)))
		if hh != nil {
			for o := range norb {
				p := hh[o][j:]
				thv[o].MulAdd(h, archsimd.LoadFloat64x4Slice(p)).StoreSlice(p)
			}
		}
		if dk != nil {
			vt := vv.Mul(t)
			for o := range norb {
				dkv[o] = h.MulAdd(archsimd.LoadFloat64x4Slice(oy[o][j:]), dkv[o])
				dkv[o] = vt.MulAdd(archsimd.LoadFloat64x4Slice(ol[o][j:]), dkv[o])
			}
		}
	}
	if dk != nil {
		for o := range norb {
			dk[o] += msSum4(dkv[o])
		}
	}
	return n4, msSum4(accTG), msSum4(acc2)
}
