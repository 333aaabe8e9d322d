package observables

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"

	"codeberg.org/sbinet/npyio/npz"
	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/internal/runio"
	"github.com/isingflow/isingflow/ising"
	"github.com/isingflow/isingflow/stats"
)

// SpinSamples are M samples x_k ~ p of a flow with their log-weights
// against the relaxed target, and for each a spin configuration drawn from
// the exact conditional law of the relaxation, s_i = ±1 independently with
// P(s_i = +1 | x) = (1 + tanh x_i)/2 (DrawSpins).
type SpinSamples struct {
	M, N  int        // samples and sites
	Shape []int      // the lattice's shape; the sites are in its row-major order
	X     *mat.Dense // M×N
	Spins []int8     // M×N, row-major
	LogP  []float64  // ln p(x_k)
	LogW  []float64  // ln w_k = ln q̃(x_k) − ln p(x_k)
	// Energy and Magnetization are E(s) (J = 1) and m = Σs/N of the drawn
	// spins.
	Energy, Magnetization []float64
}

// drawBatch is the number of samples DrawSpins draws per call of
// Sampler.Sample.
const drawBatch = 256

// DrawSpins draws m samples of s (a trained flow) on the relaxation rel in
// batches, and spins given each. The samples x come from one PCG stream of
// seed and the spins from another, so that the same seed draws the same
// samples and spins (of a model whose potential draws random group
// elements, after model.Model.Reseed with model.StreamSamples).
func DrawSpins(s Sampler, rel *ising.Relaxation, m int, seed uint64) (*SpinSamples, error) {
	if err := checkRelaxation(rel); err != nil {
		return nil, err
	}
	if s == nil {
		return nil, errors.New("observables: nil sampler")
	}
	if m < 1 {
		return nil, fmt.Errorf("observables: %d samples, need at least 1", m)
	}
	lat := rel.Lattice()
	n := lat.N()
	out := &SpinSamples{
		M: m, N: n, Shape: lat.Shape(),
		X:             mat.NewDense(m, n, nil),
		Spins:         make([]int8, m*n),
		LogP:          make([]float64, m),
		LogW:          make([]float64, m),
		Energy:        make([]float64, m),
		Magnetization: make([]float64, m),
	}
	xrng := rand.New(rand.NewPCG(seed, 0x5a3e1))
	srng := rand.New(rand.NewPCG(seed, 0x5a3e2))
	for lo := 0; lo < m; lo += drawBatch {
		hi := min(lo+drawBatch, m)
		xb := out.X.Slice(lo, hi, 0, n).(*mat.Dense)
		if err := s.Sample(xb, out.LogP[lo:hi], xrng); err != nil {
			return nil, err
		}
		rel.LogDensity(out.LogW[lo:hi], xb)
	}
	for k := range out.LogW {
		out.LogW[k] -= out.LogP[k]
	}
	conf := make([]float64, n)
	for k := range m {
		sum := 0.0
		for i, xi := range out.X.RawRowView(k) {
			v := int8(-1)
			if srng.Float64() < 0.5*(1+math.Tanh(xi)) {
				v = 1
			}
			out.Spins[k*n+i] = v
			conf[i] = float64(v)
			sum += conf[i]
		}
		out.Energy[k] = lat.Energy(conf, 1)
		out.Magnetization[k] = sum / float64(n)
	}
	return out, nil
}

// AbsMagnetization returns |m| of each sample's spins.
func (s *SpinSamples) AbsMagnetization() []float64 {
	out := make([]float64, len(s.Magnetization))
	for k, m := range s.Magnetization {
		out[k] = math.Abs(m)
	}
	return out
}

// WriteNPZ writes the samples to path, atomically, as a NumPy archive
// (numpy.load reads it): spins (int8) and x (float64) of shape (M, L, L)
// on a two-dimensional lattice and (M, N) otherwise; logp, logw, energy
// and magnetization of shape (M,); and lattice_shape.
func (s *SpinSamples) WriteNPZ(path string) error {
	// Nested slices give npy their shape; the rows alias the samples.
	var spins, x any
	if len(s.Shape) == 2 {
		rows, cols := s.Shape[0], s.Shape[1]
		sp := make([][][]int8, s.M)
		xs := make([][][]float64, s.M)
		for k := range s.M {
			sp[k] = make([][]int8, rows)
			xs[k] = make([][]float64, rows)
			xk := s.X.RawRowView(k)
			for r := range rows {
				off := k*s.N + r*cols
				sp[k][r] = s.Spins[off : off+cols]
				xs[k][r] = xk[r*cols : (r+1)*cols]
			}
		}
		spins, x = sp, xs
	} else {
		sp := make([][]int8, s.M)
		for k := range s.M {
			sp[k] = s.Spins[k*s.N : (k+1)*s.N]
		}
		spins, x = sp, s.X
	}
	arrays := []struct {
		name string
		v    any
	}{
		{"spins", spins},
		{"x", x},
		{"logp", s.LogP},
		{"logw", s.LogW},
		{"energy", s.Energy},
		{"magnetization", s.Magnetization},
	}
	latShape := make([]int64, len(s.Shape))
	for a, l := range s.Shape {
		latShape[a] = int64(l)
	}
	return runio.WriteFileAtomic(path, func(f *os.File) error {
		w := npz.NewWriter(f)
		for _, a := range arrays {
			if err := w.Write(a.name, a.v); err != nil {
				return fmt.Errorf("%s: %s: %v", path, a.name, err)
			}
		}
		if err := w.Write("lattice_shape", latShape); err != nil {
			return err
		}
		return w.Close()
	})
}

// MinExactPerGroup is the least number of exact samples that a group of
// values of |m| holds in MagnetizationKL, so that no group the flow visits
// has an empty (or nearly empty) exact frequency.
const MinExactPerGroup = 5

// MagnetizationKL estimates KL(p_|m| ‖ q_|m|), the divergence of the flow's
// distribution of |m| (samples flowAbs, independent) from the exact one
// (samples exactAbs of a Markov chain, validation.WolffSampler), on N =
// sites sites. By the data-processing inequality it is a lower bound on the
// flow's KL(p‖q) per sample: the part of it that the magnetisation alone
// accounts for. The values of |m| (|Σs|/N, one of N+1) are grouped from
// |m| = 1 downwards so that each group holds at least MinExactPerGroup
// exact samples, and the divergence of the group frequencies is returned
// with its delta-method standard error (the chain's samples counted as
// n/(2τ_int) independent ones), with the number of groups.
func MagnetizationKL(flowAbs, exactAbs []float64, sites int) (kl stats.Estimate, groups int, err error) {
	if len(flowAbs) == 0 || len(exactAbs) < MinExactPerGroup {
		return stats.Estimate{}, 0, fmt.Errorf("magnetization KL: %d flow and %d exact samples, need at least 1 and %d",
			len(flowAbs), len(exactAbs), MinExactPerGroup)
	}
	index := func(m float64) int { return min(sites, max(0, int(math.Round(m*float64(sites))))) }
	pf := make([]float64, sites+1)
	pw := make([]float64, sites+1)
	for _, m := range flowAbs {
		pf[index(m)]++
	}
	for _, m := range exactAbs {
		pw[index(m)]++
	}
	// Group from the top; an unfinished last group joins the one before.
	var f, w []float64
	var cf, cw float64
	for k := sites; k >= 0; k-- {
		cf += pf[k]
		cw += pw[k]
		if cw >= MinExactPerGroup {
			f, w = append(f, cf), append(w, cw)
			cf, cw = 0, 0
		}
	}
	f[len(f)-1] += cf
	w[len(w)-1] += cw
	nf, nw := float64(len(flowAbs)), float64(len(exactAbs))
	var sq, ratio float64
	for g := range f {
		fg, wg := f[g]/nf, w[g]/nw
		ratio += fg * fg / wg
		if fg == 0 {
			continue
		}
		l := math.Log(fg / wg)
		kl.Mean += fg * l
		sq += fg * l * l
	}
	tau, _, _ := stats.IntegratedAutocorrelationTime([][]float64{exactAbs})
	varFlow := (sq - kl.Mean*kl.Mean) / nf
	varExact := (ratio - 1) / (nw / (2 * tau))
	kl.Err = math.Sqrt(max(0, varFlow) + max(0, varExact))
	return kl, len(f), nil
}
