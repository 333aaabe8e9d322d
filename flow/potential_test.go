package flow_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/flow/flowtest"
)

// chainPotential is a small potential with closed-form derivatives used to
// test the checker itself:
//
//	φ(x) = Σ_i (c_i x_i³/6 + m_i x_i²/2) + q Σ_{i<N−1} x_i x_{i+1},
//	∇_iφ = c_i x_i²/2 + m_i x_i + q (x_{i−1} + x_{i+1}),
//	∇²φ  = Σ_i (c_i x_i + m_i),
//
// with parameters [c (N), m (N), q]. A non-empty bug plants one mistake.
type chainPotential struct {
	n     int
	theta []float64
	bug   string
}

func newChainPotential(n int, rng *rand.Rand, bug string) *chainPotential {
	p := &chainPotential{n: n, theta: make([]float64, 2*n+1), bug: bug}
	for i := range p.theta {
		p.theta[i] = rng.NormFloat64()
	}
	return p
}

func (p *chainPotential) Dim() int          { return p.n }
func (p *chainPotential) Params() []float64 { return p.theta }

func (p *chainPotential) parts() (c, m []float64, q float64) {
	return p.theta[:p.n], p.theta[p.n : 2*p.n], p.theta[2*p.n]
}

func (p *chainPotential) Value(dst []float64, x *mat.Dense) {
	c, m, q := p.parts()
	for b := range dst {
		var v float64
		for i := range p.n {
			xi := x.At(b, i)
			v += c[i]*xi*xi*xi/6 + m[i]*xi*xi/2
			if i+1 < p.n {
				v += q * xi * x.At(b, i+1)
			}
		}
		dst[b] = v
	}
}

func (p *chainPotential) GradLaplacian(grad *mat.Dense, lap []float64, x *mat.Dense) {
	c, m, q := p.parts()
	for b := range lap {
		var l float64
		for i := range p.n {
			xi := x.At(b, i)
			g := c[i]*xi*xi/2 + m[i]*xi
			if i > 0 {
				g += q * x.At(b, i-1)
			}
			if i+1 < p.n {
				g += q * x.At(b, i+1)
			}
			grad.Set(b, i, g)
			l += c[i]*xi + m[i]
		}
		if p.bug == "laplacian" {
			l *= 1.001
		}
		if p.bug == "rows" {
			l += 1e-3 * float64(b)
		}
		lap[b] = l
	}
	if p.bug == "mutate" {
		x.Set(0, 0, x.At(0, 0)+1)
	}
}

func (p *chainPotential) GradLaplacianVJP(dx *mat.Dense, dparams []float64, x, lambda *mat.Dense, mu []float64) {
	c, m, q := p.parts()
	n := p.n
	if p.bug == "overwrite" {
		if dx != nil {
			dx.Zero()
		}
		for k := range dparams {
			dparams[k] = 0
		}
	}
	for b := range mu {
		for i := range n {
			xi, li := x.At(b, i), lambda.At(b, i)
			var nb, lnb float64 // neighbour sums of x and λ
			if i > 0 {
				nb += x.At(b, i-1)
				lnb += lambda.At(b, i-1)
			}
			if i+1 < n {
				nb += x.At(b, i+1)
				if p.bug != "hessian" {
					lnb += lambda.At(b, i+1)
				}
			}
			gl := c[i]
			if p.bug == "gradlap" {
				gl *= 1.001
			}
			if dx != nil {
				dx.Set(b, i, dx.At(b, i)+(c[i]*xi+m[i])*li+q*lnb+mu[b]*gl)
			}
			if dparams != nil && !(p.bug == "nil" && dx == nil) {
				dparams[i] += li*xi*xi/2 + mu[b]*xi
				dparams[n+i] += li*xi + mu[b]
				dq := li * nb
				if p.bug == "params" {
					dq *= 1.001
				}
				dparams[2*n] += dq
			}
		}
	}
}

// checkerRecorder is a testing.TB that records failures instead of reporting them.
type checkerRecorder struct {
	testing.TB
	msgs []string
}

type checkerFatal struct{}

func (r *checkerRecorder) Helper()                   {}
func (r *checkerRecorder) Error(a ...any)            { r.msgs = append(r.msgs, fmt.Sprint(a...)) }
func (r *checkerRecorder) Errorf(f string, a ...any) { r.msgs = append(r.msgs, fmt.Sprintf(f, a...)) }
func (r *checkerRecorder) Fatal(a ...any)            { r.Error(a...); panic(checkerFatal{}) }
func (r *checkerRecorder) Fatalf(f string, a ...any) { r.Errorf(f, a...); panic(checkerFatal{}) }

func runCheckerRecorded(t *testing.T, p flow.Potential, batch int) (msgs []string) {
	r := &checkerRecorder{TB: t}
	defer func() {
		if e := recover(); e != nil {
			if _, ok := e.(checkerFatal); !ok {
				panic(e)
			}
		}
		msgs = r.msgs
	}()
	flowtest.CheckPotential(r, p, batch, rand.New(rand.NewPCG(7, 8)), 1e-6)
	return r.msgs
}

// TestCheckPotentialAcceptsCorrect runs the checker on a correct potential
// through the real testing.T.
func TestCheckPotentialAcceptsCorrect(t *testing.T) {
	for _, n := range []int{1, 2, 5} {
		for _, batch := range []int{1, 3} {
			t.Run(fmt.Sprintf("N=%d/B=%d", n, batch), func(t *testing.T) {
				p := newChainPotential(n, rand.New(rand.NewPCG(uint64(n), uint64(batch))), "")
				flowtest.CheckPotential(t, p, batch, rand.New(rand.NewPCG(1, 2)), 1e-7)
			})
		}
	}
}

// TestCheckPotentialCatchesBugs checks that every planted mistake is caught
// with a message naming the failed check.
func TestCheckPotentialCatchesBugs(t *testing.T) {
	for _, tc := range []struct {
		bug, want string
	}{
		{"laplacian", "trace of the FD Hessian"},
		{"hessian", "H·λ"},
		{"gradlap", "∇(∇²φ)"},
		{"params", "parameter adjoint against FD"},
		{"overwrite", "accumulated twice"},
		{"nil", "parameter adjoint against FD"},
		{"rows", "single rows"},
		{"mutate", "modified x"},
	} {
		t.Run(tc.bug, func(t *testing.T) {
			p := newChainPotential(4, rand.New(rand.NewPCG(3, 4)), tc.bug)
			msgs := runCheckerRecorded(t, p, 3)
			found := false
			for _, m := range msgs {
				if strings.Contains(m, tc.want) {
					found = true
				}
			}
			if !found {
				t.Errorf("bug %q not reported as %q; messages:\n%s", tc.bug, tc.want, strings.Join(msgs, "\n"))
			}
		})
	}
	if msgs := runCheckerRecorded(t, newChainPotential(4, rand.New(rand.NewPCG(3, 4)), ""), 3); len(msgs) != 0 {
		t.Errorf("correct potential reported:\n%s", strings.Join(msgs, "\n"))
	}
}
