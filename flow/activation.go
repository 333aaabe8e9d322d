package flow

import (
	"fmt"
	"math"
	"strings"
)

// Activation is the nonlinearity σ of the hidden layer of a Shallow
// potential. Both choices are smooth and convex with σ' bounded, so the
// velocity ∇φ is Lipschitz and the flow exists for all times.
type Activation int

const (
	// LogCosh is σ(u) = ln cosh u, σ' = tanh u. It is even, so a Shallow
	// potential without bias satisfies φ(−x) = φ(x): the flow commutes with
	// the Ising spin flip x → −x.
	LogCosh Activation = iota
	// Softplus is σ(u) = ln(1 + e^u), σ' = 1/(1 + e^−u), the paper's choice
	// (with a bias) for MNIST.
	Softplus
)

// String returns the activation's name: "lncosh" or "softplus".
func (a Activation) String() string {
	switch a {
	case LogCosh:
		return "lncosh"
	case Softplus:
		return "softplus"
	}
	return fmt.Sprintf("Activation(%d)", int(a))
}

// ParseActivation returns the activation named s: "lncosh" or "logcosh"
// for LogCosh, "softplus" for Softplus (case-insensitive).
func ParseActivation(s string) (Activation, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "lncosh", "logcosh":
		return LogCosh, nil
	case "softplus":
		return Softplus, nil
	}
	return 0, fmt.Errorf("flow: unknown activation %q (want lncosh or softplus)", s)
}

// Set parses s with ParseActivation into a; with String and Type it makes
// *Activation a command-line flag value (flag.Value, pflag.Value).
func (a *Activation) Set(s string) error {
	v, err := ParseActivation(s)
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// Type returns "activation", the value type shown in flag usage.
func (a *Activation) Type() string { return "activation" }

// MarshalText returns the activation's name.
func (a Activation) MarshalText() ([]byte, error) {
	if !a.valid() {
		return nil, fmt.Errorf("flow: invalid activation %d", int(a))
	}
	return []byte(a.String()), nil
}

// UnmarshalText parses a name with ParseActivation.
func (a *Activation) UnmarshalText(text []byte) error { return a.Set(string(text)) }

// Even reports whether σ(−u) = σ(u).
func (a Activation) Even() bool { return a == LogCosh }

func (a Activation) valid() bool { return a == LogCosh || a == Softplus }

// Eval returns σ(u), computed without overflow for any finite u:
// ln cosh u = |u| + log1p(e^{−2|u|}) − ln 2 and
// softplus(u) = max(u, 0) + log1p(e^{−|u|}).
func (a Activation) Eval(u float64) float64 {
	if a == LogCosh {
		return lncosh(u)
	}
	return softplus(u)
}

// Derivatives returns σ'(u), σ”(u), σ”'(u) from a single exponential.
//
// ln cosh, with e = e^{−2|u|}: σ' = tanh u = sign(u)(1−e)/(1+e),
// σ” = 1 − tanh² u = 4e/(1+e)² (no cancellation at large |u|),
// σ”' = −2 σ' σ”.
//
// softplus, with e = e^{−|u|}: σ' = s = sigmoid u (1/(1+e) or e/(1+e)),
// σ” = s(1−s) = e/(1+e)², σ”' = s(1−s)(1−2s) with 1−2s = −tanh(u/2) =
// −sign(u)(1−e)/(1+e).
func (a Activation) Derivatives(u float64) (d1, d2, d3 float64) {
	if a == LogCosh {
		return lncoshDerivs(u)
	}
	return softplusDerivs(u)
}

const ln2 = math.Ln2

func lncosh(u float64) float64 {
	au := math.Abs(u)
	return au + math.Log1p(math.Exp(-2*au)) - ln2
}

func softplus(u float64) float64 {
	return max(u, 0) + math.Log1p(math.Exp(-math.Abs(u)))
}

func lncoshDerivs(u float64) (d1, d2, d3 float64) {
	e := expNonPositive(-2 * math.Abs(u))
	inv := 1 / (1 + e)
	t := (1 - e) * inv
	if u < 0 {
		t = -t
	}
	d2 = 4 * e * inv * inv
	return t, d2, -2 * t * d2
}

func softplusDerivs(u float64) (d1, d2, d3 float64) {
	e := expNonPositive(-math.Abs(u))
	inv := 1 / (1 + e)
	d2 = e * inv * inv
	th := (1 - e) * inv // tanh(|u|/2)
	if u >= 0 {
		return inv, d2, -d2 * th
	}
	return e * inv, d2, d2 * th
}

// third returns σ”' from σ' and σ” (the values Derivatives returns):
// −2 σ' σ” for ln cosh, σ”(1 − 2σ') for softplus.
func (a Activation) third(d1, d2 float64) float64 {
	if a == LogCosh {
		return -2 * d1 * d2
	}
	return d2 * (1 - 2*d1)
}

// fromMemo returns σ'(v) and σ”(v) from the memo gradLapRow kept of v,
// m = ±e with the sign of v: gradLapRow computes them from m too, so they
// are bit for bit the same. Storing e rather than σ' and σ” halves the
// tape's memo, and recomputing costs a division, not an exponential.
func (a Activation) fromMemo(m float64) (d1, d2 float64) {
	if a == LogCosh {
		return lncoshFromMemo(m)
	}
	return softplusFromMemo(m)
}

// lncoshFromMemo returns σ' = sign(v)(1−e)/(1+e) and σ” = 4e/(1+e)² of
// ln cosh from m = ±e^{−2|v|} with the sign of v.
func lncoshFromMemo(m float64) (d1, d2 float64) {
	e := math.Abs(m)
	inv := 1 / (1 + e)
	return math.Copysign((1-e)*inv, m), 4 * e * inv * inv
}

// softplusFromMemo returns σ' (1/(1+e) for v ≥ 0, e/(1+e) below) and
// σ” = e/(1+e)² of softplus from m = ±e^{−|v|} with the sign of v (e > 0,
// so m < 0 when v < 0 or v = −0, where both forms of σ' are 1/2).
func softplusFromMemo(m float64) (d1, d2 float64) {
	e := math.Abs(m)
	inv := 1 / (1 + e)
	d1 = inv
	if m < 0 {
		d1 = e * inv
	}
	return d1, e * inv * inv
}

// gradLapRow is the elementwise part of one sample's gradient and
// Laplacian: with v_j = u_j + b_j (b may be nil: no bias) it sets
// d_j = w_j σ'(v_j) and returns Σ_j w_j σ”(v_j) r_j, and when m is not nil
// it keeps in m_j the exponential e_j that σ'(v_j) and σ”(v_j) came from,
// with the sign of v_j, for the adjoint (see fromMemo). The loops are
// written out per activation because this is the hot elementwise loop of a
// training step; with GOEXPERIMENT=simd gradLapRowVec does all but the
// last len(u) mod 4 entries four at a time.
func (a Activation) gradLapRow(d, m, u, b, w, r []float64) float64 {
	l, j0 := a.gradLapRowVec(d, m, u, b, w, r)
	if j0 > 0 {
		d, u, w, r = d[j0:], u[j0:], w[j0:], r[j0:]
		if b != nil {
			b = b[j0:]
		}
		if m != nil {
			m = m[j0:]
		}
	}
	switch a {
	case LogCosh:
		for j, v := range u {
			if b != nil {
				v += b[j]
			}
			mj := math.Copysign(expNonPositive(-2*math.Abs(v)), v)
			d1, d2 := lncoshFromMemo(mj)
			d[j] = w[j] * d1
			l += w[j] * d2 * r[j]
			if m != nil {
				m[j] = mj
			}
		}
	case Softplus:
		for j, v := range u {
			if b != nil {
				v += b[j]
			}
			mj := math.Copysign(expNonPositive(-math.Abs(v)), v)
			d1, d2 := softplusFromMemo(mj)
			d[j] = w[j] * d1
			l += w[j] * d2 * r[j]
			if m != nil {
				m[j] = mj
			}
		}
	default:
		panic(fmt.Sprintf("flow: unknown activation %d", int(a)))
	}
	return l
}
