package scan

import (
	"cmp"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/stats"
	"github.com/isingflow/isingflow/validation"
)

// Critical exponents and values of the two-dimensional Ising model used by
// the finite-size-scaling analysis.
const (
	// MagnetizationExponent is β/ν = 1/8: ⟨|m|⟩·L^{β/ν} is a function of
	// (T − T_c)·L^{1/ν} alone near T_c, so the curves of all sizes cross
	// at T_c.
	MagnetizationExponent = 1.0 / 8
	// CriticalBinder is the Binder cumulant U* = 1 − 1/(3Q) of the square
	// torus at T_c in the limit L → ∞, from Q = ⟨m²⟩²/⟨m⁴⟩ = 0.856216
	// (Kamieniarz and Blöte, J. Phys. A 26, 201 (1993)).
	CriticalBinder = 0.61069
)

// FSSPoint is one temperature of one size in the finite-size-scaling
// analysis: the estimates of all the seeds combined (Combine), and the
// exact values of the lattice where known (nil otherwise).
type FSSPoint struct {
	T     float64
	Seeds int // the number of seeds combined
	// Binder is U = 1 − ⟨m⁴⟩/(3⟨m²⟩²); SpecificHeat c per site;
	// AbsMagnetization ⟨|m|⟩ and ScaledMagnetization ⟨|m|⟩·L^{1/8}.
	Binder, SpecificHeat, AbsMagnetization, ScaledMagnetization stats.Estimate
	ExactBinder, ExactSpecificHeat, ExactAbsMagnetization       *float64
}

// SizeSeries are the points of one size, in increasing temperature.
type SizeSeries struct {
	L      int
	Points []FSSPoint
}

// Crossing is where the Binder cumulants of two sizes cross (BinderCrossing).
type Crossing struct {
	L1, L2 int
	// T is the crossing temperature with its error, U the cumulant there
	// (of L1, interpolated; no error). Both NaN when there is none (Err).
	T stats.Estimate
	U float64
	// SignChanges counts the sign changes of U_L2 − U_L1 along the common
	// temperatures: 1 for a clean crossing; more means noise near it.
	SignChanges int
	// Err says why there is no crossing ("" when there is one).
	Err string
}

// Peak is the maximum of the specific heat of one size (FitPeak), beside
// Kaufman's exact maximum.
type Peak struct {
	L int
	// T and C are the temperature and the value of the maximum. With Edge
	// the largest estimate lies at an end of the scanned temperatures, and
	// T and C are that point's: a bound, not a maximum.
	T, C   stats.Estimate
	Edge   bool
	Points int // the temperatures fitted
	// ExactT and ExactC are the maximum of Kaufman's c(T) over all T
	// (KaufmanMax); ExactFitC is what the same fit, with the same weights,
	// makes of Kaufman's values at the scanned temperatures: the flow's
	// C should match ExactFitC within its error, and ExactFitC − ExactC is
	// the error of the fit on this temperature grid. NaN where the
	// lattice is not a square torus.
	ExactT, ExactC, ExactFitC float64
}

// FSS is the finite-size-scaling analysis of a plan's complete points:
// every size's curves, the Binder crossings of successive sizes and the
// specific-heat maxima.
type FSS struct {
	Tc        float64 // the exact critical temperature 2/ln(1+√2)
	Sizes     []SizeSeries
	Crossings []Crossing
	Peaks     []Peak
}

// Combine returns the combined estimate of independent estimates of one
// quantity (the seeds of one point): the inverse-variance weighted mean
// with its error 1/√Σσ⁻², the error scaled up by √(χ²/(n−1)) when the
// estimates scatter more than their errors say. Estimates without a
// finite mean are left out; when an error is not positive and finite the
// plain mean is returned with the larger of √Σσ²/n and the scatter's
// standard error. No estimate gives NaN ± NaN.
func Combine(es []stats.Estimate) stats.Estimate {
	var xs []stats.Estimate
	weighted := true
	for _, e := range es {
		if !finite(e.Mean) {
			continue
		}
		xs = append(xs, stats.Estimate{Mean: e.Mean, Err: e.Err})
		weighted = weighted && finite(e.Err) && e.Err > 0
	}
	n := float64(len(xs))
	switch {
	case len(xs) == 0:
		return stats.Estimate{Mean: math.NaN(), Err: math.NaN()}
	case len(xs) == 1:
		return xs[0]
	case !weighted:
		var mean, ss, sd float64
		for _, e := range xs {
			mean += e.Mean
			ss += e.Err * e.Err
		}
		mean /= n
		for _, e := range xs {
			sd += (e.Mean - mean) * (e.Mean - mean)
		}
		sd = math.Sqrt(sd / (n - 1))
		return stats.Estimate{Mean: mean, Err: max(math.Sqrt(ss)/n, sd/math.Sqrt(n))}
	}
	var sw, swx float64
	for _, e := range xs {
		w := 1 / (e.Err * e.Err)
		sw += w
		swx += w * e.Mean
	}
	mean := swx / sw
	var chi2 float64
	for _, e := range xs {
		d := (e.Mean - mean) / e.Err
		chi2 += d * d
	}
	err := 1 / math.Sqrt(sw)
	if s := chi2 / (n - 1); s > 1 {
		err *= math.Sqrt(s)
	}
	return stats.Estimate{Mean: mean, Err: err}
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// NewFSS analyses the complete points of a plan (Collection.Points): the
// seeds of each size and temperature combined, the Binder crossing of each
// pair of successive sizes, and each size's specific-heat maximum beside
// Kaufman's (on a square torus).
func NewFSS(points []PointResult) *FSS {
	f := &FSS{Tc: validation.CriticalTemperature}
	type key struct {
		L int
		T string
	}
	groups := map[key][]PointResult{}
	var keys []key
	for _, p := range points {
		k := key{p.Config.L, RunDir(p.Config.T)}
		if groups[k] == nil {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], p)
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(cmp.Compare(a.L, b.L), cmp.Compare(groups[a][0].Config.T, groups[b][0].Config.T))
	})
	torus := len(points) > 0 && points[0].Config.IsSquareTorus()
	for _, k := range keys {
		g := groups[k]
		if len(f.Sizes) == 0 || f.Sizes[len(f.Sizes)-1].L != k.L {
			f.Sizes = append(f.Sizes, SizeSeries{L: k.L})
		}
		var u, c, m []stats.Estimate
		for _, p := range g {
			u = append(u, p.Estimates.Binder)
			c = append(c, p.Estimates.SpecificHeatPerSite)
			m = append(m, p.Estimates.AbsMagnetization)
		}
		pt := FSSPoint{T: g[0].Config.T, Seeds: len(g), Binder: Combine(u), SpecificHeat: Combine(c), AbsMagnetization: Combine(m)}
		scale := math.Pow(float64(k.L), MagnetizationExponent)
		pt.ScaledMagnetization = stats.Estimate{Mean: pt.AbsMagnetization.Mean * scale, Err: pt.AbsMagnetization.Err * scale}
		if x := g[0].Exact; x != nil {
			pt.ExactBinder, pt.ExactSpecificHeat, pt.ExactAbsMagnetization = x.Binder, x.SpecificHeatPerSite, x.AbsMagnetization
		}
		s := &f.Sizes[len(f.Sizes)-1]
		s.Points = append(s.Points, pt)
	}
	for i := 1; i < len(f.Sizes); i++ {
		f.Crossings = append(f.Crossings, crossingOf(f.Sizes[i-1], f.Sizes[i]))
	}
	for _, s := range f.Sizes {
		f.Peaks = append(f.Peaks, peakOf(s, torus))
	}
	return f
}

// crossingOf is the Binder crossing of two sizes over their common
// temperatures.
func crossingOf(a, b SizeSeries) Crossing {
	cr := Crossing{L1: a.L, L2: b.L, T: stats.Estimate{Mean: math.NaN(), Err: math.NaN()}, U: math.NaN()}
	at := map[string]FSSPoint{}
	for _, p := range a.Points {
		at[RunDir(p.T)] = p
	}
	var ts []float64
	var ua, ub []stats.Estimate
	for _, p := range b.Points {
		if q, ok := at[RunDir(p.T)]; ok {
			ts = append(ts, p.T)
			ua = append(ua, q.Binder)
			ub = append(ub, p.Binder)
		}
	}
	T, n, err := BinderCrossing(ts, ua, ub)
	cr.SignChanges = n
	if err != nil {
		cr.Err = err.Error()
		return cr
	}
	cr.T = T
	// U of L1 at the crossing, interpolated linearly.
	for i := 1; i < len(ts); i++ {
		if ts[i-1] <= T.Mean && T.Mean <= ts[i] {
			w := (T.Mean - ts[i-1]) / (ts[i] - ts[i-1])
			cr.U = (1-w)*ua[i-1].Mean + w*ua[i].Mean
		}
	}
	return cr
}

// peakOf fits the specific-heat maximum of one size.
func peakOf(s SizeSeries, torus bool) Peak {
	pk := Peak{L: s.L, ExactT: math.NaN(), ExactC: math.NaN(), ExactFitC: math.NaN()}
	ts := make([]float64, len(s.Points))
	cs := make([]stats.Estimate, len(s.Points))
	for i, p := range s.Points {
		ts[i], cs[i] = p.T, p.SpecificHeat
	}
	var err error
	pk.T, pk.C, pk.Edge, pk.Points, err = FitPeak(ts, cs)
	if err != nil {
		pk.T = stats.Estimate{Mean: math.NaN(), Err: math.NaN()}
		pk.C = pk.T
	}
	if !torus {
		return pk
	}
	if T, c, err := KaufmanMax(s.L); err == nil {
		pk.ExactT, pk.ExactC = T, c
	}
	ex := make([]stats.Estimate, len(ts))
	for i, T := range ts {
		k, err := validation.Kaufman(s.L, s.L, T)
		if err != nil {
			return pk
		}
		ex[i] = stats.Estimate{Mean: k.SpecificHeatPerSite, Err: cs[i].Err}
	}
	if _, c, _, _, err := FitPeak(ts, ex); err == nil {
		pk.ExactFitC = c.Mean
	}
	return pk
}

// BinderCrossing returns the temperature at which two Binder cumulant
// curves on the same temperatures ts (increasing) cross — ua of the
// smaller lattice, ub of the larger, which lies above it below T_c and
// below it above — and the number of sign changes of the difference
// D = ub − ua. A parabola is fitted by weighted least squares to D over
// the temperatures that bracket the sign changes and two more on either
// side, where there are (errors √(σa² + σb²)); its root in that window
// nearest the sign changes is the crossing, with the error that the fit's
// covariance gives it (scaled by √(χ²/dof) when that exceeds 1). A straight
// line, whose root is biased by the curvature of D over so wide a window,
// is fitted only where fewer than four temperatures are at hand or the
// parabola has no root in the window. Points without a finite mean are
// left out; it is an error when D does not change sign.
func BinderCrossing(ts []float64, ua, ub []stats.Estimate) (T stats.Estimate, signChanges int, err error) {
	if len(ts) != len(ua) || len(ts) != len(ub) {
		return T, 0, fmt.Errorf("scan: Binder crossing: %d temperatures, %d and %d values", len(ts), len(ua), len(ub))
	}
	var x, d, s []float64
	for i := range ts {
		if i > 0 && !(ts[i] > ts[i-1]) {
			return T, 0, errors.New("scan: Binder crossing: the temperatures must increase")
		}
		if finite(ua[i].Mean) && finite(ub[i].Mean) {
			x = append(x, ts[i])
			d = append(d, ub[i].Mean-ua[i].Mean)
			s = append(s, math.Hypot(ua[i].Err, ub[i].Err))
		}
	}
	if len(x) < 2 {
		return T, 0, fmt.Errorf("%d common temperatures with estimates: need at least 2", len(x))
	}
	first, last := -1, -1
	for i := 1; i < len(d); i++ {
		if (d[i-1] > 0) != (d[i] > 0) {
			signChanges++
			if first < 0 {
				first = i - 1
			}
			last = i
		}
	}
	if signChanges == 0 {
		return T, 0, fmt.Errorf("the cumulants do not cross between T = %g and %g (U_L2 − U_L1 keeps its sign %+.3g): widen -T",
			x[0], x[len(x)-1], d[0])
	}
	// The polynomial is in T − tm, the middle of the sign changes.
	tm := (x[first] + x[last]) / 2
	if lo, hi := max(first-2, 0), min(last+2, len(x)-1); hi-lo+1 >= 4 {
		if T, ok := polynomialRoot(x[lo:hi+1], d[lo:hi+1], s[lo:hi+1], tm, 2); ok {
			return T, signChanges, nil
		}
	}
	lo, hi := max(first-1, 0), min(last+1, len(x)-1)
	T, ok := polynomialRoot(x[lo:hi+1], d[lo:hi+1], s[lo:hi+1], tm, 1)
	if !ok {
		return T, signChanges, errors.New("the difference of the cumulants is flat at the crossing")
	}
	return T, signChanges, nil
}

// polynomialRoot fits a polynomial of the degree (1 or 2) in x − x0 to
// y ± sigma by weighted least squares and returns its root within
// [x[0], x[len(x)−1]] nearest x0, with the error the fit's covariance
// gives it: δr = −Σ_j r^j δc_j / p′(r). It reports false when the fit
// fails or has no simple root there.
func polynomialRoot(x, y, sigma []float64, x0 float64, degree int) (stats.Estimate, bool) {
	coef, cov, err := weightedPolyFit(x, y, sigma, x0, degree)
	if err != nil {
		return stats.Estimate{}, false
	}
	var roots []float64
	switch {
	case degree == 1 || coef[2] == 0:
		if coef[1] != 0 {
			roots = append(roots, -coef[0]/coef[1])
		}
	default:
		c0, c1, c2 := coef[0], coef[1], coef[2]
		disc := c1*c1 - 4*c2*c0
		if disc < 0 {
			return stats.Estimate{}, false
		}
		// The form that does not cancel: q = −(c1 + sign(c1)√disc)/2.
		q := -(c1 + math.Copysign(math.Sqrt(disc), c1)) / 2
		roots = append(roots, q/c2)
		if q != 0 {
			roots = append(roots, c0/q)
		}
	}
	lo, hi := x[0]-x0, x[len(x)-1]-x0
	r, found := 0.0, false
	for _, root := range roots {
		if root >= lo && root <= hi && (!found || math.Abs(root) < math.Abs(r)) {
			r, found = root, true
		}
	}
	if !found {
		return stats.Estimate{}, false
	}
	var slope, rj float64 = 0, 1
	for j := 1; j < len(coef); j++ {
		slope += float64(j) * coef[j] * rj
		rj *= r
	}
	if slope == 0 || !finite(slope) {
		return stats.Estimate{}, false
	}
	grad := make([]float64, len(coef))
	rj = 1
	for j := range grad {
		grad[j] = -rj / slope
		rj *= r
	}
	var v float64
	for i := range grad {
		for j := range grad {
			v += grad[i] * grad[j] * cov.At(i, j)
		}
	}
	return stats.Estimate{Mean: x0 + r, Err: math.Sqrt(max(v, 0))}, true
}

// FitPeak returns the maximum of a curve sampled at increasing
// temperatures ts — the specific heat, for its finite-size maximum — and
// the number of points fitted: a parabola fitted by weighted least squares
// to the largest value and up to two temperatures either side, its vertex
// and value with the errors of the fit's covariance (scaled by √(χ²/dof)
// when that exceeds 1; unweighted when an error is not positive). When the
// largest value lies at either end, or the parabola does not open
// downwards with its vertex inside the window, it returns that point with
// edge true.
func FitPeak(ts []float64, ys []stats.Estimate) (T, y stats.Estimate, edge bool, points int, err error) {
	if len(ts) != len(ys) {
		return T, y, false, 0, fmt.Errorf("scan: peak: %d temperatures, %d values", len(ts), len(ys))
	}
	var x, v, s []float64
	for i := range ts {
		if i > 0 && !(ts[i] > ts[i-1]) {
			return T, y, false, 0, errors.New("scan: peak: the temperatures must increase")
		}
		if finite(ys[i].Mean) {
			x, v, s = append(x, ts[i]), append(v, ys[i].Mean), append(s, ys[i].Err)
		}
	}
	if len(x) == 0 {
		return T, y, false, 0, errors.New("no estimate")
	}
	k := 0
	for i := range v {
		if v[i] > v[k] {
			k = i
		}
	}
	atPoint := func() (stats.Estimate, stats.Estimate, bool, int, error) {
		return stats.Estimate{Mean: x[k]}, stats.Estimate{Mean: v[k], Err: s[k]}, true, 1, nil
	}
	if k == 0 || k == len(x)-1 {
		return atPoint()
	}
	lo, hi := max(k-2, 0), min(k+2, len(x)-1)
	coef, cov, err := weightedPolyFit(x[lo:hi+1], v[lo:hi+1], s[lo:hi+1], x[k], 2)
	if err != nil {
		return T, y, false, 0, err
	}
	c0, c1, c2 := coef[0], coef[1], coef[2]
	if !(c2 < 0) {
		return atPoint()
	}
	r := -c1 / (2 * c2)
	if x[k]+r < x[lo] || x[k]+r > x[hi] {
		return atPoint()
	}
	// Gradients of the vertex r = −c1/(2c2) and the value c0 − c1²/(4c2).
	gr := []float64{0, -1 / (2 * c2), c1 / (2 * c2 * c2)}
	gy := []float64{1, -c1 / (2 * c2), c1 * c1 / (4 * c2 * c2)}
	quad := func(g []float64) float64 {
		var q float64
		for i := range g {
			for j := range g {
				q += g[i] * cov.At(i, j) * g[j]
			}
		}
		return math.Sqrt(max(q, 0))
	}
	return stats.Estimate{Mean: x[k] + r, Err: quad(gr)}, stats.Estimate{Mean: c0 - c1*c1/(4*c2), Err: quad(gy)},
		false, hi - lo + 1, nil
}

// weightedPolyFit fits y = Σ_j c_j (x − x0)^j, j ≤ degree, by least squares
// weighted by 1/σ² (unweighted when a σ is not positive and finite), and
// returns the coefficients and their covariance: (AᵀWA)⁻¹, scaled by
// χ²/dof when that exceeds 1 (for an unweighted fit by the residual
// variance whenever there is a degree of freedom).
func weightedPolyFit(x, y, sigma []float64, x0 float64, degree int) ([]float64, *mat.Dense, error) {
	n, p := len(x), degree+1
	if n < p {
		return nil, nil, fmt.Errorf("%d points for a polynomial of degree %d", n, degree)
	}
	weighted := true
	for _, s := range sigma {
		weighted = weighted && finite(s) && s > 0
	}
	a := mat.NewDense(n, p, nil)
	b := mat.NewVecDense(n, nil)
	for i := range x {
		w := 1.0
		if weighted {
			w = 1 / sigma[i]
		}
		t := 1.0
		for j := range p {
			a.Set(i, j, w*t)
			t *= x[i] - x0
		}
		b.SetVec(i, w*y[i])
	}
	var ata mat.Dense
	ata.Mul(a.T(), a)
	var cov mat.Dense
	if err := cov.Inverse(&ata); err != nil {
		return nil, nil, fmt.Errorf("the fit is singular: %v", err)
	}
	var atb, c mat.VecDense
	atb.MulVec(a.T(), b)
	c.MulVec(&cov, &atb)
	var chi2 float64
	for i := range n {
		r := b.AtVec(i)
		for j := range p {
			r -= a.At(i, j) * c.AtVec(j)
		}
		chi2 += r * r
	}
	if dof := n - p; dof > 0 {
		if s := chi2 / float64(dof); s > 1 || !weighted {
			cov.Scale(s, &cov)
		}
	}
	coef := make([]float64, p)
	for j := range coef {
		coef[j] = c.AtVec(j)
	}
	return coef, &cov, nil
}

// KaufmanMax returns the temperature and the value of the maximum of the
// exact specific heat per site of the L×L torus (validation.Kaufman):
// the largest of 401 temperatures from 1 to 5, refined by golden-section
// search to 1e-12 in T.
func KaufmanMax(L int) (T, c float64, err error) {
	heat := func(T float64) float64 {
		k, e := validation.Kaufman(L, L, T)
		if e != nil {
			err = e
			return math.NaN()
		}
		return k.SpecificHeatPerSite
	}
	const lo, hi, n = 1.0, 5.0, 401
	best, bestC := 0, math.Inf(-1)
	for i := range n {
		if v := heat(lo + (hi-lo)*float64(i)/(n-1)); v > bestC {
			best, bestC = i, v
		}
	}
	if err != nil {
		return math.NaN(), math.NaN(), err
	}
	if best == 0 || best == n-1 {
		return math.NaN(), math.NaN(), fmt.Errorf("scan: the specific heat of L = %d has no maximum between T = %g and %g", L, lo, hi)
	}
	step := (hi - lo) / (n - 1)
	a, b := lo+step*float64(best-1), lo+step*float64(best+1)
	g := (math.Sqrt(5) - 1) / 2
	x1, x2 := b-g*(b-a), a+g*(b-a)
	f1, f2 := heat(x1), heat(x2)
	for b-a > 1e-12 {
		if f1 > f2 {
			b, x2, f2 = x2, x1, f1
			x1 = b - g*(b-a)
			f1 = heat(x1)
		} else {
			a, x1, f1 = x1, x2, f2
			x2 = a + g*(b-a)
			f2 = heat(x2)
		}
	}
	T = (a + b) / 2
	return T, heat(T), err
}

// FSSCSVHeader returns the columns of FSS.WriteCSV.
func FSSCSVHeader() []string {
	return []string{"L", "T", "seeds", "binder", "binder_err", "exact_binder", "specific_heat_per_site", "specific_heat_per_site_err",
		"exact_specific_heat_per_site", "abs_magnetization", "abs_magnetization_err", "exact_abs_magnetization",
		"scaled_magnetization", "scaled_magnetization_err"}
}

// WriteCSV writes one row per size and temperature: the seeds combined,
// U, c and ⟨|m|⟩ with their errors and exact values where known, and
// ⟨|m|⟩·L^{1/8}. An unknown or non-finite number is an empty field.
func (f *FSS) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(FSSCSVHeader()); err != nil {
		return err
	}
	num := func(v float64) string {
		if !finite(v) {
			return ""
		}
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	opt := func(v *float64) string {
		if v == nil {
			return ""
		}
		return num(*v)
	}
	for _, s := range f.Sizes {
		for _, p := range s.Points {
			if err := cw.Write([]string{strconv.Itoa(s.L), num(p.T), strconv.Itoa(p.Seeds),
				num(p.Binder.Mean), num(p.Binder.Err), opt(p.ExactBinder),
				num(p.SpecificHeat.Mean), num(p.SpecificHeat.Err), opt(p.ExactSpecificHeat),
				num(p.AbsMagnetization.Mean), num(p.AbsMagnetization.Err), opt(p.ExactAbsMagnetization),
				num(p.ScaledMagnetization.Mean), num(p.ScaledMagnetization.Err)}); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// jsonNumber is a number in JSON, null when it is not finite.
func jsonNumber(v float64) any {
	if !finite(v) {
		return nil
	}
	return v
}

// jsonEstimate is an estimate in JSON: {"mean": …, "err": …}, non-finite
// numbers as null.
func jsonEstimate(e stats.Estimate) map[string]any {
	return map[string]any{"mean": jsonNumber(e.Mean), "err": jsonNumber(e.Err)}
}

// MarshalJSON writes the analysis as one object: "tc"; "sizes", each with
// "L" and "points" (T, seeds, binder, specific_heat, abs_magnetization,
// scaled_magnetization as {mean, err}, and the exact_… values where
// known); "crossings" (L1, L2, T {mean, err}, U, sign_changes, error);
// "peaks" (L, T, c {mean, err}, edge, points, exact_T, exact_c,
// exact_fit_c). Non-finite numbers are null.
func (f *FSS) MarshalJSON() ([]byte, error) {
	opt := func(v *float64) any {
		if v == nil {
			return nil
		}
		return jsonNumber(*v)
	}
	var sizes []map[string]any
	for _, s := range f.Sizes {
		var pts []map[string]any
		for _, p := range s.Points {
			pts = append(pts, map[string]any{
				"T": p.T, "seeds": p.Seeds,
				"binder": jsonEstimate(p.Binder), "specific_heat": jsonEstimate(p.SpecificHeat),
				"abs_magnetization": jsonEstimate(p.AbsMagnetization), "scaled_magnetization": jsonEstimate(p.ScaledMagnetization),
				"exact_binder": opt(p.ExactBinder), "exact_specific_heat": opt(p.ExactSpecificHeat),
				"exact_abs_magnetization": opt(p.ExactAbsMagnetization),
			})
		}
		sizes = append(sizes, map[string]any{"L": s.L, "points": pts})
	}
	crossings := []map[string]any{}
	for _, c := range f.Crossings {
		crossings = append(crossings, map[string]any{"L1": c.L1, "L2": c.L2, "T": jsonEstimate(c.T), "U": jsonNumber(c.U),
			"sign_changes": c.SignChanges, "error": c.Err})
	}
	peaks := []map[string]any{}
	for _, p := range f.Peaks {
		peaks = append(peaks, map[string]any{"L": p.L, "T": jsonEstimate(p.T), "c": jsonEstimate(p.C), "edge": p.Edge,
			"points": p.Points, "exact_T": jsonNumber(p.ExactT), "exact_c": jsonNumber(p.ExactC), "exact_fit_c": jsonNumber(p.ExactFitC)})
	}
	return json.Marshal(map[string]any{"tc": f.Tc, "sizes": nonNilSlice(sizes), "crossings": crossings, "peaks": peaks})
}
