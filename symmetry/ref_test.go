package symmetry

import (
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// refShallow is a plain-loop reference of the single-hidden-layer potential
// φ(x) = Σ_j w_j ln cosh(a_j·x + b_j), written from the formulas of
// DESIGN.md §3 independently of package flow. Params: A (H×N row-major),
// then b (H, only if bias), then w (H).
type refShallow struct {
	n, h  int
	bias  bool
	theta []float64
}

func newRefShallow(n, h int, bias bool, rng *rand.Rand) *refShallow {
	p := &refShallow{n: n, h: h, bias: bias}
	np := h*n + h
	if bias {
		np += h
	}
	p.theta = make([]float64, np)
	for i := range p.theta {
		p.theta[i] = rng.NormFloat64() / math.Sqrt(float64(n))
	}
	for j := range h {
		p.w()[j] = rng.NormFloat64()
	}
	return p
}

func (p *refShallow) a(j int) []float64 { return p.theta[j*p.n : (j+1)*p.n] }
func (p *refShallow) b() []float64 {
	if !p.bias {
		return nil
	}
	return p.theta[p.h*p.n : p.h*p.n+p.h]
}
func (p *refShallow) w() []float64 { return p.theta[len(p.theta)-p.h:] }

func (p *refShallow) Dim() int          { return p.n }
func (p *refShallow) Params() []float64 { return p.theta }

func (p *refShallow) u(x []float64, j int) float64 {
	u := 0.0
	for i, ai := range p.a(j) {
		u += ai * x[i]
	}
	if p.bias {
		u += p.b()[j]
	}
	return u
}

func (p *refShallow) norm2(j int) float64 {
	r := 0.0
	for _, ai := range p.a(j) {
		r += ai * ai
	}
	return r
}

func refLogCosh(u float64) float64 {
	a := math.Abs(u)
	return a + math.Log1p(math.Exp(-2*a)) - math.Ln2
}

func (p *refShallow) Value(dst []float64, x *mat.Dense) {
	for b := range dst {
		xb := x.RawRowView(b)
		v := 0.0
		for j := range p.h {
			v += p.w()[j] * refLogCosh(p.u(xb, j))
		}
		dst[b] = v
	}
}

func (p *refShallow) GradLaplacian(grad *mat.Dense, lap []float64, x *mat.Dense) {
	for b := range lap {
		xb := x.RawRowView(b)
		g := grad.RawRowView(b)
		clear(g)
		l := 0.0
		for j := range p.h {
			t := math.Tanh(p.u(xb, j))
			w := p.w()[j]
			for i, ai := range p.a(j) {
				g[i] += w * t * ai
			}
			l += w * (1 - t*t) * p.norm2(j)
		}
		lap[b] = l
	}
}

func (p *refShallow) GradLaplacianVJP(dx *mat.Dense, dparams []float64, x, lambda *mat.Dense, mu []float64) {
	for b := range mu {
		xb, lb := x.RawRowView(b), lambda.RawRowView(b)
		for j := range p.h {
			aj := p.a(j)
			t := math.Tanh(p.u(xb, j))
			s2 := 1 - t*t
			s3 := -2 * t * s2
			r := p.norm2(j)
			w := p.w()[j]
			g := 0.0
			for i, ai := range aj {
				g += ai * lb[i]
			}
			m := mu[b]
			coef := w*s2*g + m*w*s3*r
			if dx != nil {
				d := dx.RawRowView(b)
				for i, ai := range aj {
					d[i] += coef * ai
				}
			}
			if dparams != nil {
				da := dparams[j*p.n : (j+1)*p.n]
				for i := range da {
					da[i] += w*t*lb[i] + coef*xb[i] + 2*m*w*s2*aj[i]
				}
				if p.bias {
					dparams[p.h*p.n+j] += coef
				}
				dparams[len(dparams)-p.h+j] += t*g + m*s2*r
			}
		}
	}
}
