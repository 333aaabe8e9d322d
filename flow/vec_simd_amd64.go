//go:build goexperiment.simd

package flow

import (
	"math"
	"simd/archsimd"
)

// With GOEXPERIMENT=simd (scripts/isingflow and scripts/mnistflow build
// with it when the toolchain has it) the elementwise loops of the training
// step run four float64 lanes at a time with AVX2 and FMA, where the CPU
// has them; otherwise, and for the last len mod 4 entries, the scalar
// loops of activation.go and shallow.go run. The lanes compute what the
// scalar loops compute, term by term, with fused multiply-adds where the
// scalar code rounds twice (TestVectorRowsMatchScalar).

// vectorRows reports whether the CPU runs the vector loops.
var vectorRows = archsimd.X86.AVX2() && archsimd.X86.FMA()

func splat(v float64) archsimd.Float64x4 { return archsimd.BroadcastFloat64x4(v) }

// expNonPositive4 is expNonPositive on four lanes.
func expNonPositive4(x archsimd.Float64x4) archsimd.Float64x4 {
	x = x.Max(splat(expFloor))
	sh := splat(expShifter)
	t := x.MulAdd(splat(math.Log2E), sh)
	k := t.Sub(sh)
	y := k.MulAdd(splat(-expLn2Hi), x)
	y = k.MulAdd(splat(-expLn2Lo), y)
	y2 := y.Mul(y)
	y4 := y2.Mul(y2)
	q0 := y2.MulAdd(y.MulAdd(splat(1.0/6), splat(1.0/2)), y)
	q1 := y2.MulAdd(y.MulAdd(splat(1.0/5040), splat(1.0/720)), y.MulAdd(splat(1.0/120), splat(1.0/24)))
	q2 := y2.MulAdd(y.MulAdd(splat(1.0/39916800), splat(1.0/3628800)), y.MulAdd(splat(1.0/362880), splat(1.0/40320)))
	s0 := y4.MulAdd(q1, q0)
	s1 := y4.MulAdd(y.MulAdd(splat(1.0/6227020800), splat(1.0/479001600)), q2)
	p := y4.Mul(y4).MulAdd(s1, s0).Add(splat(1))
	// t's low bits hold k as an integer offset from the shifter's bits.
	pow2k := t.AsInt64x4().Sub(sh.AsInt64x4()).Add(archsimd.BroadcastInt64x4(1023)).ShiftAllLeft(52)
	return p.Mul(pow2k.AsFloat64x4())
}

// fromMemo4 is fromMemo on four lanes, for a valid activation: the
// forward loop computes σ', σ” through it too, so the adjoint's are the
// same bit for bit.
func (a Activation) fromMemo4(m archsimd.Float64x4) (d1, d2 archsimd.Float64x4) {
	sign := archsimd.BroadcastInt64x4(math.MinInt64)
	one := splat(1)
	e := m.AsInt64x4().AndNot(sign).AsFloat64x4()
	inv := one.Div(one.Add(e))
	if a == LogCosh {
		// σ' = sign(v)(1−e)/(1+e), σ” = 4e/(1+e)².
		d1 = one.Sub(e).Mul(inv).AsInt64x4().Or(m.AsInt64x4().And(sign)).AsFloat64x4()
		return d1, e.Mul(splat(4)).Mul(inv).Mul(inv)
	}
	// σ' = e/(1+e) below zero (m < 0), 1/(1+e) above, σ” = e/(1+e)².
	ei := e.Mul(inv)
	return ei.Merge(inv, m.Less(splat(0))), ei.Mul(inv)
}

// gradLapRowVec runs gradLapRow's loop on the first len(u) − len(u) mod 4
// entries and returns its partial sum and how many entries it did (0
// without AVX2 and FMA).
func (a Activation) gradLapRowVec(d, m, u, b, w, r []float64) (l float64, done int) {
	if !vectorRows || !a.valid() {
		return 0, 0
	}
	n := len(u) &^ 3
	d, w, r = d[:n], w[:n], r[:n]
	if b != nil {
		b = b[:n]
	}
	if m != nil {
		m = m[:n]
	}
	sign := archsimd.BroadcastInt64x4(math.MinInt64)
	scale := splat(-2) // e = e^{−2|v|} for ln cosh, e^{−|v|} for softplus
	if a == Softplus {
		scale = splat(-1)
	}
	acc := splat(0)
	for j := 0; j < n; j += 4 {
		v := archsimd.LoadFloat64x4Slice(u[j:])
		if b != nil {
			v = v.Add(archsimd.LoadFloat64x4Slice(b[j:]))
		}
		abs := v.AsInt64x4().AndNot(sign).AsFloat64x4()
		e := expNonPositive4(abs.Mul(scale))
		mv := e.AsInt64x4().Or(v.AsInt64x4().And(sign)).AsFloat64x4() // ±e, the sign of v
		d1, d2 := a.fromMemo4(mv)
		wj := archsimd.LoadFloat64x4Slice(w[j:])
		wj.Mul(d1).StoreSlice(d[j:])
		acc = wj.Mul(d2).MulAdd(archsimd.LoadFloat64x4Slice(r[j:]), acc)
		if m != nil {
			mv.StoreSlice(m[j:])
		}
	}
	var lanes [4]float64
	acc.Store(&lanes)
	return (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]), n
}

// vjpRowVec runs the memo branch of vjpUnits' loop over the hidden units
// for one sample (μ = mu), on the first len(g) − len(g) mod 4 units, and
// returns how many it did (0 without AVX2 and FMA): with d1, d2 = σ', σ”
// from the memo m (as fromMemo) and d3 = σ”' from them, c = w (d2 g + μ d3 r),
// and when needP, dd = w d1, dw += d1 g + μ d2 r, db += c, diag += μ d2.
func (a Activation) vjpRowVec(c, dd, dw, db, diag, m, g, w, r []float64, mu float64, needP bool) int {
	if !vectorRows || !a.valid() {
		return 0
	}
	n := len(g) &^ 3
	c, m, w, r = c[:n], m[:n], w[:n], r[:n]
	if needP {
		dd, dw, db, diag = dd[:n], dw[:n], db[:n], diag[:n]
	}
	muv := splat(mu)
	for j := 0; j < n; j += 4 {
		d1, d2 := a.fromMemo4(archsimd.LoadFloat64x4Slice(m[j:]))
		var d3 archsimd.Float64x4
		if a == LogCosh {
			d3 = d1.Mul(splat(-2)).Mul(d2) // −2 σ' σ”
		} else {
			d3 = d2.Mul(d1.MulAdd(splat(-2), splat(1))) // σ”(1 − 2σ')
		}
		gv := archsimd.LoadFloat64x4Slice(g[j:])
		wv := archsimd.LoadFloat64x4Slice(w[j:])
		rv := archsimd.LoadFloat64x4Slice(r[j:])
		cv := wv.Mul(d2.MulAdd(gv, muv.Mul(d3).Mul(rv)))
		cv.StoreSlice(c[j:])
		if needP {
			wv.Mul(d1).StoreSlice(dd[j:])
			dwv := archsimd.LoadFloat64x4Slice(dw[j:])
			dwv.Add(d1.MulAdd(gv, muv.Mul(d2).Mul(rv))).StoreSlice(dw[j:])
			archsimd.LoadFloat64x4Slice(db[j:]).Add(cv).StoreSlice(db[j:])
			archsimd.LoadFloat64x4Slice(diag[j:]).Add(muv.Mul(d2)).StoreSlice(diag[j:])
		}
	}
	return n
}
