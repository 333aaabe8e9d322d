package observables

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/ising"
	"github.com/isingflow/isingflow/stats"
)

// Thresholds of the warnings that EstimateIsing and SampleIsing attach to
// their results.
const (
	// MinESSFraction is the smallest ESS/M, and MinESS the smallest
	// effective sample size, below which the importance-sampled estimates
	// are flagged as unreliable.
	MinESSFraction = 1e-3
	MinESS         = 100

	// MaxLogWeightSD is the largest standard deviation of ln w, in nats,
	// before the weights are flagged as nearly degenerate: for log-normal
	// weights ESS/M ≈ exp(−σ²), 1.2e-4 at σ = 3.
	MaxLogWeightSD = 3

	// MaxParetoShape is the largest shape k̂ of the fitted generalised Pareto
	// tail of the weights (ParetoTailShape) before the estimates are flagged
	// as unreliable: above 0.7 the variance of the weights is, in practice,
	// infinite and importance sampling needs impractically many samples
	// (Vehtari et al., Pareto smoothed importance sampling).
	MaxParetoShape = 0.7

	// MinAcceptance is the smallest flow-MCMC acceptance rate before the
	// chain is flagged as nearly stuck.
	MinAcceptance = 0.01

	// FoldDiscretisation and WarnDiscretisation are the thresholds of the
	// integrator's error of ln p relative to the statistical error σ_f of
	// the importance-sampled free energy (SetLogDensityDiscretisation):
	// its uncertainty is folded into σ_f from FoldDiscretisation·σ_f on
	// (below, it would change σ_f by less than 2 %), and the estimates
	// carry a warning when the bias T|δ| exceeds WarnDiscretisation·σ_f
	// and δ is significant (|δ| > 2 of its errors).
	FoldDiscretisation = 0.2
	WarnDiscretisation = 0.5
)

// jackknifeBlocks is the number of blocks of independent draws used by the
// jackknife errors of the specific heat, the Binder cumulant and the
// susceptibility.
const jackknifeBlocks = 100

// Chain blocking of flow-MCMC: blocks of at least chainBlockTaus·τ_int
// states (as the Wolff chains' bins), at most maxChainBlocks of them; fewer
// than minChainBlocks means the chain is too short for its autocorrelation
// (see MCMCEstimates).
const (
	chainBlockTaus = 50
	maxChainBlocks = 100
	minChainBlocks = 20
)

// IsingEstimates are the estimates of the Ising thermodynamics from M
// independent samples x_k ~ p of a variational density (a trained flow) on
// the continuous relaxation of package vmc, with the importance weights
// w_k = q̃(x_k)/p(x_k). Everything is per site, in Ising units (J = 1,
// k_B = 1, natural logarithms), m = Σs/N.
//
// The free energies are
//
//	F_var(cont)/N = mean(ln p − ln q̃)/N                 (the paper's figure)
//	βf_var        = (mean(ln p − ln q̃) − c)/N,  f_var = T·βf_var  (an upper bound of f)
//	f             = −T (ln Ẑ_cont + c)/N,  ln Ẑ_cont = ln mean(w)   (importance-sampled)
//
// with c = ising.Relaxation.Constant. The spin observables are self-normalised
// importance-weighted averages ⟨O⟩ = Σ w_k O_k / Σ w_k of the exact
// conditional moments O_k = E[O | x_k] (ising.ConditionalMoments), with
// delta-method errors for the plain averages and jackknife errors over
// blocks for
//
//	c = β²(⟨E²⟩ − ⟨E⟩²)/N,  U = 1 − ⟨m⁴⟩/(3⟨m²⟩²),  χ = βN(⟨m²⟩ − ⟨|m|⟩²).
//
// IsingEstimates marshals to a flat JSON object with the keys of the
// project's command (variational_free_energy_per_site, kl_per_site,
// free_energy_per_site, …, ess_fraction), every estimate as a value key and
// a sibling key_err (see Fields), non-finite numbers as null.
type IsingEstimates struct {
	Samples     int     // M, the number of samples
	ESS         float64 // effective sample size (Σw)²/Σw²
	ESSFraction float64 // ESS/M
	LogWeightSD float64 // standard deviation of ln w over the samples, in nats
	ParetoShape float64 // k̂ of the largest weights' tail (ParetoTailShape)

	ContinuousFreeEnergyPerSite      stats.Estimate // F_var(cont)/N = mean(ln p − ln q̃)/N
	VariationalBetaFreeEnergyPerSite stats.Estimate // βf_var = (F_var(cont) − c)/N
	VariationalFreeEnergyPerSite     stats.Estimate // f_var = T·βf_var ≥ f
	// KLPerSite is KL(p‖q)/N = βf_var − βf in nats per site. It needs the
	// exact ln Z: NaN until SetExactLnZPerSite is called.
	KLPerSite         stats.Estimate
	LnZPerSite        stats.Estimate // importance-sampled ln Z_Ising/N = (ln Ẑ_cont + c)/N
	FreeEnergyPerSite stats.Estimate // importance-sampled f = −T·LnZPerSite

	EnergyPerSite       stats.Estimate // ⟨E⟩/N
	SpecificHeatPerSite stats.Estimate // β²(⟨E²⟩ − ⟨E⟩²)/N
	AbsMagnetization    stats.Estimate // ⟨|m|⟩
	// FlowAbsMagnetization is ⟨|m|⟩ over the model's own samples, without
	// the weights: where the flow puts its mass. Beside the target's ⟨|m|⟩
	// it shows the reverse KL's collapse onto ordered states, which the
	// weighted estimate hides when the ESS is small.
	FlowAbsMagnetization stats.Estimate
	MagnetizationSq      stats.Estimate // ⟨m²⟩
	Magnetization4       stats.Estimate // ⟨m⁴⟩
	Binder               stats.Estimate // U = 1 − ⟨m⁴⟩/(3⟨m²⟩²)
	Susceptibility       stats.Estimate // χ = βN(⟨m²⟩ − ⟨|m|⟩²)

	// LogDensityDiscretisation, when the evaluation estimated it, is the
	// mean error per site of the log-density the integrator reports,
	// δ = (ln p_reported − ln p)/N (flow.Flow.LogDensityError), and
	// FreeEnergyStatErr the statistical error of FreeEnergyPerSite alone
	// when the discretisation's was folded into it (zero otherwise): see
	// SetLogDensityDiscretisation.
	LogDensityDiscretisation *stats.Estimate
	FreeEnergyStatErr        float64

	// Warnings are sentences a user must see, such as an effective sample
	// size too small for the estimates to be trusted. Empty when all is
	// well.
	Warnings []string

	// MCMC holds the flow-MCMC estimates when they were asked for.
	MCMC *MCMCEstimates

	// LogWeights are the M log-weights ln w_k = ln q̃(x_k) − ln p(x_k), in
	// the order drawn (for a histogram); not marshalled.
	LogWeights []float64
}

// MCMCEstimates are the estimates of a flow-MCMC chain: independence
// Metropolis–Hastings with the flow as the proposal (IndependenceChain),
// whose states are distributed as the normalised target whatever the
// flow's quality. The observables are chain averages of the exact
// conditional moments of every state, in chain order: plain averages with
// errors from the integrated autocorrelation time (stats.ChainMean), and the
// specific heat, Binder cumulant and susceptibility with jackknife errors
// over Blocks contiguous blocks of at least 50 τ_int states each. A chain
// shorter than 1000 τ_int (fewer than 20 such blocks) carries a warning:
// its error bars can be too small (docs/validation.md has the calibration).
type MCMCEstimates struct {
	Proposals              int     // number of proposals, the length of the chain
	Acceptance             float64 // fraction of accepted proposals
	TauInt                 float64 // max(TauIntEnergy, TauIntAbsMagnetization)
	TauIntEnergy           float64 // τ_int of the chain of E[E|x]
	TauIntAbsMagnetization float64 // τ_int of the chain of E[|m| | x]
	Blocks                 int     // jackknife blocks

	EnergyPerSite       stats.Estimate
	SpecificHeatPerSite stats.Estimate
	AbsMagnetization    stats.Estimate
	MagnetizationSq     stats.Estimate
	Magnetization4      stats.Estimate
	Binder              stats.Estimate
	Susceptibility      stats.Estimate

	Warnings []string
}

// NamedEstimate is an estimate with its JSON key.
type NamedEstimate struct {
	Key string
	stats.Estimate
}

type namedPtr struct {
	key string
	e   *stats.Estimate
}

func (e *IsingEstimates) fields() []namedPtr {
	return []namedPtr{
		{"free_energy_cont_per_site", &e.ContinuousFreeEnergyPerSite},
		{"variational_beta_free_energy_per_site", &e.VariationalBetaFreeEnergyPerSite},
		{"variational_free_energy_per_site", &e.VariationalFreeEnergyPerSite},
		{"kl_per_site", &e.KLPerSite},
		{"ln_z_per_site", &e.LnZPerSite},
		{"free_energy_per_site", &e.FreeEnergyPerSite},
		{"energy_per_site", &e.EnergyPerSite},
		{"specific_heat_per_site", &e.SpecificHeatPerSite},
		{"abs_magnetization", &e.AbsMagnetization},
		{"magnetization_sq", &e.MagnetizationSq},
		{"magnetization_4", &e.Magnetization4},
		{"binder", &e.Binder},
		{"susceptibility", &e.Susceptibility},
		{"flow_abs_magnetization", &e.FlowAbsMagnetization},
	}
}

func (c *MCMCEstimates) fields() []namedPtr {
	return []namedPtr{
		{"energy_per_site", &c.EnergyPerSite},
		{"specific_heat_per_site", &c.SpecificHeatPerSite},
		{"abs_magnetization", &c.AbsMagnetization},
		{"magnetization_sq", &c.MagnetizationSq},
		{"magnetization_4", &c.Magnetization4},
		{"binder", &c.Binder},
		{"susceptibility", &c.Susceptibility},
	}
}

func named(fs []namedPtr) []NamedEstimate {
	out := make([]NamedEstimate, len(fs))
	for i, f := range fs {
		out[i] = NamedEstimate{Key: f.key, Estimate: *f.e}
	}
	return out
}

// Fields returns the estimates in a fixed order with their JSON keys, for
// tables and for commands that merge them into their own JSON output.
func (e *IsingEstimates) Fields() []NamedEstimate { return named(e.fields()) }

// Fields returns the chain's estimates in a fixed order with their JSON
// keys.
func (c *MCMCEstimates) Fields() []NamedEstimate { return named(c.fields()) }

// SetExactLnZPerSite records the exact ln Z_Ising/N (Kaufman, enumeration)
// and sets KLPerSite = βf_var + ln Z/N = KL(p‖q)/N ≥ 0, whose error is that
// of βf_var. It returns KLPerSite.
func (e *IsingEstimates) SetExactLnZPerSite(lnZPerSite float64) stats.Estimate {
	e.KLPerSite = stats.Estimate{
		Mean: e.VariationalBetaFreeEnergyPerSite.Mean + lnZPerSite,
		Err:  e.VariationalBetaFreeEnergyPerSite.Err,
	}
	return e.KLPerSite
}

// SetLogDensityDiscretisation records the estimate d of the integrator's
// error of ln p per site, δ = (ln p_reported − ln p)/N averaged over
// samples (flow.Flow.LogDensityError), at temperature T, and folds it into
// the error of the importance-sampled free energy where it matters.
//
// An error δ per site of every ln p multiplies every weight by about
// e^{−Nδ}, so that ln Ẑ/N is low by δ and f = −T ln Z/N high by Tδ (low
// when δ < 0, as at ε = 0.2 in the ordered phase); f_var moves by the same
// Tδ, so KL/site does not to first order. The estimate is not subtracted,
// as it is a leading-order one from a few hundred samples: its size and
// uncertainty, s = T·√(δ² + σ_δ²), are added in quadrature to the error of
// f (and s/T to that of ln Z/N) when s exceeds FoldDiscretisation times
// that error, and FreeEnergyStatErr keeps the statistical error alone.
// When T|δ| exceeds WarnDiscretisation times the statistical error and δ
// is significant (|δ| > 2σ_δ), a warning says so: the step size biases f
// by a visible fraction of its error bar, and the flow should be evaluated
// with smaller steps. Calling it again replaces the earlier estimate.
func (e *IsingEstimates) SetLogDensityDiscretisation(d stats.Estimate, T float64) {
	stat := e.FreeEnergyPerSite.Err
	if e.FreeEnergyStatErr > 0 {
		stat = e.FreeEnergyStatErr
	}
	dd := d
	e.LogDensityDiscretisation = &dd
	e.Warnings = slices.DeleteFunc(e.Warnings, func(w string) bool { return strings.HasPrefix(w, coarseStepWarning) })
	e.FreeEnergyPerSite.Err, e.FreeEnergyStatErr = stat, 0
	e.LnZPerSite.Err = stat / T
	s := T * math.Hypot(d.Mean, d.Err)
	if s > FoldDiscretisation*stat {
		e.FreeEnergyStatErr = stat
		e.FreeEnergyPerSite.Err = math.Hypot(stat, s)
		e.LnZPerSite.Err = e.FreeEnergyPerSite.Err / T
	}
	if T*math.Abs(d.Mean) > WarnDiscretisation*stat && math.Abs(d.Mean) > 2*d.Err {
		e.Warnings = append(e.Warnings, fmt.Sprintf(
			coarseStepWarning+": the integrated ln p is off by %.2g ± %.1g per site (Richardson, ε against ε/2), which moves f by %+.2g, %.1f times its statistical error %.2g; the error of f includes it, but evaluate with smaller steps (more --flow-steps of a smaller --epsilon) for an unbiased f",
			d.Mean, d.Err, T*d.Mean, T*math.Abs(d.Mean)/stat, stat))
	}
}

// coarseStepWarning opens the warning of SetLogDensityDiscretisation.
const coarseStepWarning = "RK4 STEP TOO COARSE"

// jsonObject writes a flat JSON object in the order its members are added.
type jsonObject struct {
	buf bytes.Buffer
	err error
}

func (o *jsonObject) key(k string) {
	if o.buf.Len() == 0 {
		o.buf.WriteByte('{')
	} else {
		o.buf.WriteByte(',')
	}
	o.buf.WriteString(strconv.Quote(k))
	o.buf.WriteByte(':')
}

func (o *jsonObject) number(k string, v float64) {
	o.key(k)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		o.buf.WriteString("null")
		return
	}
	o.buf.Write(strconv.AppendFloat(nil, v, 'g', -1, 64))
}

func (o *jsonObject) value(k string, v any) {
	o.key(k)
	b, err := json.Marshal(v)
	if err != nil && o.err == nil {
		o.err = err
	}
	o.buf.Write(b)
}

func (o *jsonObject) estimates(fs []namedPtr) {
	for _, f := range fs {
		o.number(f.key, f.e.Mean)
		o.number(f.key+"_err", f.e.Err)
	}
}

func (o *jsonObject) bytes() ([]byte, error) {
	if o.buf.Len() == 0 {
		o.buf.WriteByte('{')
	}
	o.buf.WriteByte('}')
	return o.buf.Bytes(), o.err
}

// MarshalJSON writes the estimates as one flat object: samples, ess,
// ess_fraction, log_weight_sd, every estimate as key and key_err (Fields),
// warnings, and mcmc when present. Non-finite numbers are written as null.
func (e IsingEstimates) MarshalJSON() ([]byte, error) {
	var o jsonObject
	o.value("samples", e.Samples)
	o.number("ess", e.ESS)
	o.number("ess_fraction", e.ESSFraction)
	o.number("log_weight_sd", e.LogWeightSD)
	o.number("pareto_k", e.ParetoShape)
	o.estimates(e.fields())
	if d := e.LogDensityDiscretisation; d != nil {
		o.number("logp_discretisation_per_site", d.Mean)
		o.number("logp_discretisation_per_site_err", d.Err)
	}
	if e.FreeEnergyStatErr > 0 {
		o.number("free_energy_per_site_statistical_err", e.FreeEnergyStatErr)
	}
	o.value("warnings", nonNil(e.Warnings))
	if e.MCMC != nil {
		o.value("mcmc", e.MCMC)
	}
	return o.bytes()
}

// MarshalJSON writes the chain's estimates as one flat object: proposals,
// acceptance, tau_int (and tau_int_energy, tau_int_abs_magnetization),
// blocks, every estimate as key and key_err, and warnings.
func (c MCMCEstimates) MarshalJSON() ([]byte, error) {
	var o jsonObject
	o.value("proposals", c.Proposals)
	o.number("acceptance", c.Acceptance)
	o.number("tau_int", c.TauInt)
	o.number("tau_int_energy", c.TauIntEnergy)
	o.number("tau_int_abs_magnetization", c.TauIntAbsMagnetization)
	o.value("blocks", c.Blocks)
	o.estimates(c.fields())
	o.value("warnings", nonNil(c.Warnings))
	return o.bytes()
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// readEstimates fills the estimates of fs from a decoded object; a missing
// or null member reads as NaN.
func readEstimates(m map[string]json.RawMessage, fs []namedPtr) error {
	for _, f := range fs {
		var err error
		if f.e.Mean, err = readNumber(m, f.key); err != nil {
			return err
		}
		if f.e.Err, err = readNumber(m, f.key+"_err"); err != nil {
			return err
		}
	}
	return nil
}

func readNumber(m map[string]json.RawMessage, k string) (float64, error) {
	raw, ok := m[k]
	if !ok || string(raw) == "null" {
		return math.NaN(), nil
	}
	var v float64
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, fmt.Errorf("observables: %s: %w", k, err)
	}
	return v, nil
}

func readInto(m map[string]json.RawMessage, k string, dst any) error {
	raw, ok := m[k]
	if !ok || string(raw) == "null" {
		return nil
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return fmt.Errorf("observables: %s: %w", k, err)
	}
	return nil
}

// UnmarshalJSON reads what MarshalJSON writes (null and missing numbers
// read as NaN; LogWeights are not stored).
func (e *IsingEstimates) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("observables: Ising estimates: %w", err)
	}
	*e = IsingEstimates{}
	var err error
	if err = readInto(m, "samples", &e.Samples); err != nil {
		return err
	}
	if e.ESS, err = readNumber(m, "ess"); err != nil {
		return err
	}
	if e.ESSFraction, err = readNumber(m, "ess_fraction"); err != nil {
		return err
	}
	if e.LogWeightSD, err = readNumber(m, "log_weight_sd"); err != nil {
		return err
	}
	if e.ParetoShape, err = readNumber(m, "pareto_k"); err != nil {
		return err
	}
	if err = readEstimates(m, e.fields()); err != nil {
		return err
	}
	if _, ok := m["logp_discretisation_per_site"]; ok {
		d := stats.Estimate{}
		if d.Mean, err = readNumber(m, "logp_discretisation_per_site"); err != nil {
			return err
		}
		if d.Err, err = readNumber(m, "logp_discretisation_per_site_err"); err != nil {
			return err
		}
		e.LogDensityDiscretisation = &d
	}
	if err = readInto(m, "free_energy_per_site_statistical_err", &e.FreeEnergyStatErr); err != nil {
		return err
	}
	if err = readInto(m, "warnings", &e.Warnings); err != nil {
		return err
	}
	if raw, ok := m["mcmc"]; ok && string(raw) != "null" {
		e.MCMC = new(MCMCEstimates)
		return e.MCMC.UnmarshalJSON(raw)
	}
	return nil
}

// UnmarshalJSON reads what MarshalJSON writes.
func (c *MCMCEstimates) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("observables: MCMC estimates: %w", err)
	}
	*c = MCMCEstimates{}
	var err error
	if err = readInto(m, "proposals", &c.Proposals); err != nil {
		return err
	}
	if c.Acceptance, err = readNumber(m, "acceptance"); err != nil {
		return err
	}
	if c.TauInt, err = readNumber(m, "tau_int"); err != nil {
		return err
	}
	if c.TauIntEnergy, err = readNumber(m, "tau_int_energy"); err != nil {
		return err
	}
	if c.TauIntAbsMagnetization, err = readNumber(m, "tau_int_abs_magnetization"); err != nil {
		return err
	}
	if err = readInto(m, "blocks", &c.Blocks); err != nil {
		return err
	}
	if err = readEstimates(m, c.fields()); err != nil {
		return err
	}
	return readInto(m, "warnings", &c.Warnings)
}

// Sampler draws independent samples of a normalised density p on R^N with
// their exact log-densities: x.Rows() samples into the rows of x and
// ln p(x_b) into logp[b]. It returns an error if it cannot (a flow whose
// settings are invalid or whose adaptive integrator fails); the samples
// are then not used. *flow.Flow is a Sampler.
type Sampler interface {
	Sample(x *mat.Dense, logp []float64, rng *rand.Rand) error
}

// SampleOptions are the settings of SampleIsing. The zero value draws
// nothing: Samples must be set.
type SampleOptions struct {
	Samples int    // M independent samples for the importance-sampled estimates, at least 2
	Batch   int    // rows per call of Sampler.Sample; 0 means DefaultBatch
	MCMC    int    // proposals of flow-MCMC, drawn afresh; 0 runs no chain
	Seed    uint64 // seed of every random stream: the results are a function of it

	// Progress, if not nil, is called after every batch with the number of
	// draws done and the total (Samples + MCMC).
	Progress func(done, total int)
}

// DefaultBatch is the batch size of SampleIsing when none is given. The
// cost of evaluating a flow is its matrix products and elementwise
// activations, all parallel; per sample it hardly depends on the batch size
// between 256 and 1024 (BenchmarkSampleIsingL16).
const DefaultBatch = 1024

// isingDraws are the per-sample scalars of a run of draws: the model and
// target log-densities and the exact conditional spin moments.
type isingDraws struct {
	logp, logq []float64
	moments    []ising.SpinMoments
}

func (d *isingDraws) grow(m int) {
	d.logp = make([]float64, 0, m)
	d.logq = make([]float64, 0, m)
	d.moments = make([]ising.SpinMoments, 0, m)
}

// batchEvaluator evaluates ln q̃ and the conditional moments of batches of
// samples.
type batchEvaluator struct {
	rel  *ising.Relaxation
	cm   *ising.ConditionalMoments
	logq []float64
	mom  []ising.SpinMoments
}

func newBatchEvaluator(rel *ising.Relaxation) *batchEvaluator {
	return &batchEvaluator{rel: rel, cm: ising.NewConditionalMoments(rel.Lattice())}
}

// eval computes ln q̃ and the moments of the rows of x into the evaluator's
// slices and checks that every log-density is finite; offset numbers the
// first row in error messages.
func (ev *batchEvaluator) eval(x *mat.Dense, logp []float64, offset int) error {
	b, _ := x.Dims()
	if cap(ev.logq) < b {
		ev.logq = make([]float64, b)
		ev.mom = make([]ising.SpinMoments, b)
	}
	ev.logq, ev.mom = ev.logq[:b], ev.mom[:b]
	ev.rel.LogDensity(ev.logq, x)
	for k := range b {
		if bad(logp[k]) {
			return fmt.Errorf("observables: sample %d has ln p = %v", offset+k, logp[k])
		}
		if bad(ev.logq[k]) {
			return fmt.Errorf("observables: sample %d has ln q̃ = %v", offset+k, ev.logq[k])
		}
	}
	ev.cm.Batch(ev.mom, x)
	return nil
}

func bad(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }

func checkRelaxation(rel *ising.Relaxation) error {
	if rel == nil {
		return errors.New("observables: nil relaxation")
	}
	return nil
}

// EstimateIsing returns the importance-sampled estimates of the Ising
// thermodynamics from M samples already drawn: the rows of x (M×N) with
// their model log-densities logp, for the relaxation rel. The samples must
// be independent draws of p. It returns an error for mismatched sizes,
// fewer than two samples, or a non-finite log-density.
func EstimateIsing(rel *ising.Relaxation, x *mat.Dense, logp []float64) (IsingEstimates, error) {
	if err := checkRelaxation(rel); err != nil {
		return IsingEstimates{}, err
	}
	m, n := x.Dims()
	if n != rel.N() {
		return IsingEstimates{}, fmt.Errorf("observables: samples have %d columns, the relaxation has N = %d", n, rel.N())
	}
	if len(logp) != m {
		return IsingEstimates{}, fmt.Errorf("observables: %d log-densities for %d samples", len(logp), m)
	}
	ev := newBatchEvaluator(rel)
	if err := ev.eval(x, logp, 0); err != nil {
		return IsingEstimates{}, err
	}
	d := isingDraws{logp: logp, logq: ev.logq, moments: ev.mom}
	return d.estimate(rel)
}

// SampleIsing draws opt.Samples independent samples of s in batches of
// opt.Batch and returns the importance-sampled estimates of the Ising
// thermodynamics for the relaxation rel; with opt.MCMC > 0 it then runs a
// flow-MCMC chain of that many fresh proposals (IsingEstimates.MCMC).
//
// Only per-sample scalars are kept (about 150 bytes per sample at the
// peak, while estimating), so M is limited by time, not memory. rel must
// not be used by another goroutine meanwhile (its batched methods keep
// workspaces). The batches are drawn one after the other:
// a Flow is not safe for concurrent use, and its matrix products, the
// target's log-density and the conditional moments each use every core
// (gonum's or OpenBLAS's parallel GEMM, parallel.For). The importance
// samples, the MCMC proposals and the Metropolis decisions come from three
// PCG streams of opt.Seed, so the results are a function of the seed (and
// of GOMAXPROCS only through the rounding of parallel sums, if the BLAS
// reorders them).
func SampleIsing(s Sampler, rel *ising.Relaxation, opt SampleOptions) (IsingEstimates, error) {
	if err := checkRelaxation(rel); err != nil {
		return IsingEstimates{}, err
	}
	if s == nil {
		return IsingEstimates{}, errors.New("observables: nil sampler")
	}
	if d, ok := s.(interface{ Dim() int }); ok && d.Dim() != rel.N() {
		return IsingEstimates{}, fmt.Errorf("observables: sampler has dimension %d, the relaxation has N = %d", d.Dim(), rel.N())
	}
	if opt.Samples < 2 {
		return IsingEstimates{}, fmt.Errorf("observables: %d samples, need at least 2", opt.Samples)
	}
	if opt.MCMC < 0 || opt.MCMC == 1 {
		return IsingEstimates{}, fmt.Errorf("observables: %d flow-MCMC proposals, need 0 (no chain) or at least 2", opt.MCMC)
	}
	if opt.Batch < 0 {
		return IsingEstimates{}, fmt.Errorf("observables: batch size %d", opt.Batch)
	}
	batch := opt.Batch
	if batch == 0 {
		batch = DefaultBatch
	}
	total := opt.Samples + opt.MCMC
	rows := min(batch, max(opt.Samples, opt.MCMC))
	r := &batchRunner{
		s:        s,
		ev:       newBatchEvaluator(rel),
		total:    total,
		progress: opt.Progress,
		x:        mat.NewDense(rows, rel.N(), nil),
		logp:     make([]float64, rows),
	}

	var d isingDraws
	d.grow(opt.Samples)
	err := r.run(opt.Samples, rand.New(rand.NewPCG(opt.Seed, 1)), func(lp, lq []float64, mom []ising.SpinMoments) {
		d.logp = append(d.logp, lp...)
		d.logq = append(d.logq, lq...)
		d.moments = append(d.moments, mom...)
	})
	if err != nil {
		return IsingEstimates{}, err
	}
	est, err := d.estimate(rel)
	if err != nil || opt.MCMC == 0 {
		return est, err
	}

	chain := NewIndependenceChain(rand.New(rand.NewPCG(opt.Seed, 3)))
	states := make([]ising.SpinMoments, 0, opt.MCMC)
	var cur ising.SpinMoments
	err = r.run(opt.MCMC, rand.New(rand.NewPCG(opt.Seed, 2)), func(lp, lq []float64, mom []ising.SpinMoments) {
		for k := range lp {
			if chain.Step(lq[k] - lp[k]) {
				cur = mom[k]
			}
			states = append(states, cur)
		}
	})
	if err != nil {
		return IsingEstimates{}, err
	}
	mc, err := EstimateChain(rel, states, chain.Acceptance())
	if err != nil {
		return IsingEstimates{}, err
	}
	est.MCMC = &mc
	return est, nil
}

// batchRunner draws samples in batches of the rows of x and hands each
// batch's scalars to a consumer.
type batchRunner struct {
	s        Sampler
	ev       *batchEvaluator
	done     int
	total    int
	progress func(done, total int)
	x        *mat.Dense
	logp     []float64
}

func (r *batchRunner) run(m int, rng *rand.Rand, consume func(logp, logq []float64, mom []ising.SpinMoments)) error {
	full, n := r.x.Dims()
	for start := 0; start < m; start += full {
		b := min(full, m-start)
		x := r.x
		if b < full {
			x = r.x.Slice(0, b, 0, n).(*mat.Dense)
		}
		logp := r.logp[:b]
		if err := r.s.Sample(x, logp, rng); err != nil {
			return fmt.Errorf("observables: sample %d: %w", start, err)
		}
		if err := r.ev.eval(x, logp, start); err != nil {
			return err
		}
		consume(logp, r.ev.logq, r.ev.mom)
		r.done += b
		if r.progress != nil {
			r.progress(r.done, r.total)
		}
	}
	return nil
}

// spinColumns are the conditional moments of a run of samples as columns,
// the energy centred on e0 (to keep the variance free of cancellation).
type spinColumns struct {
	energy, energyC, energyC2, abs, m2, m4 []float64
}

func newSpinColumns(moments []ising.SpinMoments, n int, e0 float64) spinColumns {
	m := len(moments)
	c := spinColumns{
		energy:   make([]float64, m),
		energyC:  make([]float64, m),
		energyC2: make([]float64, m),
		abs:      make([]float64, m),
		m2:       make([]float64, m),
		m4:       make([]float64, m),
	}
	nf := float64(n)
	for k, s := range moments {
		c.energy[k] = s.Energy / nf
		c.energyC[k] = s.Energy - e0
		// E[(E−e0)² | x] = E[E²|x] − 2 e0 E[E|x] + e0².
		c.energyC2[k] = s.EnergySq - 2*e0*s.Energy + e0*e0
		c.abs[k] = s.AbsMagnetization
		c.m2[k] = s.MagnetizationSq
		c.m4[k] = s.Magnetization4
	}
	return c
}

// Smooth functions of averages with jackknife errors.
func specificHeat(beta float64, n int) func(m []float64) float64 {
	return func(m []float64) float64 { return beta * beta * (m[1] - m[0]*m[0]) / float64(n) }
}

func binder(m []float64) float64 { return 1 - m[1]/(3*m[0]*m[0]) }

func susceptibility(beta float64, n int) func(m []float64) float64 {
	return func(m []float64) float64 { return beta * float64(n) * (m[1] - m[0]*m[0]) }
}

func (d *isingDraws) estimate(rel *ising.Relaxation) (IsingEstimates, error) {
	m := len(d.logp)
	if m < 2 {
		return IsingEstimates{}, fmt.Errorf("observables: %d samples, need at least 2", m)
	}
	n := rel.N()
	nf, beta, temp, c := float64(n), rel.Beta(), rel.Temperature(), rel.Constant()

	// ln p − ln q̃ per sample: the variational free energy and the weights.
	v := make([]float64, m)
	logw := make([]float64, m)
	for k := range v {
		v[k] = d.logp[k] - d.logq[k]
		logw[k] = -v[k]
	}
	fMean, fSD := stats.MeanSD(v)
	fErr := fSD / math.Sqrt(float64(m))
	w, err := stats.NewWeighted(logw)
	if err != nil {
		return IsingEstimates{}, err
	}
	lnZ := w.LogPartition()

	est := IsingEstimates{
		Samples:                          m,
		ESS:                              w.ESS(),
		ESSFraction:                      w.ESSFraction(),
		LogWeightSD:                      fSD,
		ParetoShape:                      ParetoTailShape(logw),
		ContinuousFreeEnergyPerSite:      stats.Estimate{Mean: fMean / nf, Err: fErr / nf},
		VariationalBetaFreeEnergyPerSite: stats.Estimate{Mean: (fMean - c) / nf, Err: fErr / nf},
		VariationalFreeEnergyPerSite:     stats.Estimate{Mean: temp * (fMean - c) / nf, Err: temp * fErr / nf},
		KLPerSite:                        stats.Estimate{Mean: math.NaN(), Err: math.NaN()},
		LnZPerSite:                       stats.Estimate{Mean: (lnZ.Mean + c) / nf, Err: lnZ.Err / nf},
		FreeEnergyPerSite:                stats.Estimate{Mean: -temp * (lnZ.Mean + c) / nf, Err: temp * lnZ.Err / nf},
		LogWeights:                       logw,
	}

	energy := make([]float64, m)
	for k, s := range d.moments {
		energy[k] = s.Energy
	}
	col := newSpinColumns(d.moments, n, w.Mean(energy).Mean)
	est.EnergyPerSite = w.Mean(col.energy)
	est.SpecificHeatPerSite = w.Jackknife(jackknifeBlocks, specificHeat(beta, n), col.energyC, col.energyC2)
	est.AbsMagnetization = w.Mean(col.abs)
	absMean, absSD := stats.MeanSD(col.abs)
	est.FlowAbsMagnetization = stats.Estimate{Mean: absMean, Err: absSD / math.Sqrt(float64(m))}
	est.MagnetizationSq = w.Mean(col.m2)
	est.Magnetization4 = w.Mean(col.m4)
	est.Binder = w.Jackknife(jackknifeBlocks, binder, col.m2, col.m4)
	est.Susceptibility = w.Jackknife(jackknifeBlocks, susceptibility(beta, n), col.abs, col.m2)

	if est.ESSFraction < MinESSFraction || est.ESS < MinESS {
		est.Warnings = append(est.Warnings, fmt.Sprintf(
			"LOW EFFECTIVE SAMPLE SIZE: ESS = %.3g of M = %d samples (ESS/M = %.2g); the importance-sampled free energy and observables rest on a handful of samples and their error bars cannot be trusted (need ESS/M ≥ %g and ESS ≥ %d)",
			est.ESS, m, est.ESSFraction, MinESSFraction, MinESS))
	}
	if est.ParetoShape > MaxParetoShape {
		est.Warnings = append(est.Warnings, fmt.Sprintf(
			"HEAVY TAIL OF WEIGHTS: Pareto k̂ = %.2f (> %g); a few samples carry most of the weight and the importance-sampled estimates and their error bars are unreliable",
			est.ParetoShape, float64(MaxParetoShape)))
	}
	if fSD > MaxLogWeightSD {
		est.Warnings = append(est.Warnings, fmt.Sprintf(
			"HUGE SPREAD OF LOG-WEIGHTS: sd(ln w) = %.3g nats (> %g); the model and the target differ strongly, and unless the model is wider than the target (see ESS and Pareto k̂) ln Ẑ is biased low and the importance-sampled estimates may be biased beyond their error bars",
			fSD, float64(MaxLogWeightSD)))
	}
	return est, nil
}

// ParetoTailShape returns the shape k̂ of a generalised Pareto distribution
// fitted to the largest importance weights w = exp(logw): the
// min(M/5, 3√M) largest, above the next one, with the estimator of Zhang &
// Stephens (Technometrics 51, 316 (2009)) and the weak prior of Vehtari,
// Simpson, Gelman, Yao & Gabry, "Pareto smoothed importance sampling"
// (JMLR 25, 1 (2024), arXiv:1507.02646). The weights have 1/k̂ finite
// moments: k̂ < 0.5 means a finite variance and a central limit theorem
// for the importance-sampled averages; above 0.7 the estimates converge
// impractically slowly, whatever their error bars say. It returns NaN when
// there are fewer than 5 distinct weights in the tail (M < 25, or ties).
func ParetoTailShape(logw []float64) float64 {
	m := len(logw)
	tail := min(m/5, int(math.Ceil(3*math.Sqrt(float64(m)))))
	if tail < 5 {
		return math.NaN()
	}
	sorted := slices.Clone(logw)
	slices.Sort(sorted)
	top := sorted[m-1]
	if math.IsInf(top, 0) || math.IsNaN(top) {
		return math.NaN()
	}
	threshold := math.Exp(sorted[m-tail-1] - top)
	x := make([]float64, 0, tail)
	for _, lw := range sorted[m-tail:] {
		if d := math.Exp(lw-top) - threshold; d > 0 {
			x = append(x, d) // ascending
		}
	}
	if len(x) < 5 {
		return math.NaN()
	}
	return gpdShape(x)
}

// gpdShape fits a generalised Pareto distribution to the positive,
// ascending exceedances x and returns its shape, as PSIS's gpdfit does.
func gpdShape(x []float64) float64 {
	const priorB, priorK = 3, 10
	n := len(x)
	nf := float64(n)
	grid := 30 + int(math.Sqrt(nf))
	quartile := x[int(nf/4+0.5)-1]
	b := make([]float64, grid)
	logL := make([]float64, grid)
	for i := range b {
		b[i] = (1-math.Sqrt(float64(grid)/(float64(i+1)-0.5)))/(priorB*quartile) + 1/x[n-1]
		k := 0.0
		for _, v := range x {
			k += math.Log1p(-b[i] * v)
		}
		k /= nf
		logL[i] = nf * (math.Log(-b[i]/k) - k - 1)
	}
	// Posterior mean of b over the grid, weights ∝ exp(logL).
	top := math.Inf(-1)
	for _, l := range logL {
		if !math.IsNaN(l) {
			top = math.Max(top, l)
		}
	}
	var sw, sb float64
	for i, l := range logL {
		if math.IsNaN(l) {
			continue
		}
		w := math.Exp(l - top)
		sw += w
		sb += w * b[i]
	}
	bPost := sb / sw
	k := 0.0
	for _, v := range x {
		k += math.Log1p(-bPost * v)
	}
	k /= nf
	return (nf*k + priorK*0.5) / (nf + priorK)
}

// EstimateChain returns the flow-MCMC estimates of a chain given by the
// exact conditional moments of its states, in chain order (a rejected
// proposal repeats the current state), with the chain's acceptance rate,
// for the relaxation rel (which fixes N and β). It returns an error for a
// chain of fewer than two states.
func EstimateChain(rel *ising.Relaxation, states []ising.SpinMoments, acceptance float64) (MCMCEstimates, error) {
	if err := checkRelaxation(rel); err != nil {
		return MCMCEstimates{}, err
	}
	m := len(states)
	if m < 2 {
		return MCMCEstimates{}, fmt.Errorf("observables: flow-MCMC chain of %d states, need at least 2", m)
	}
	n := rel.N()
	beta := rel.Beta()
	e0 := 0.0
	for _, s := range states {
		e0 += s.Energy
	}
	e0 /= float64(m)
	col := newSpinColumns(states, n, e0)

	est := MCMCEstimates{Proposals: m, Acceptance: acceptance}
	for _, q := range []struct {
		dst    *stats.Estimate
		series []float64
	}{
		{&est.EnergyPerSite, col.energy},
		{&est.AbsMagnetization, col.abs},
		{&est.MagnetizationSq, col.m2},
		{&est.Magnetization4, col.m4},
	} {
		var err error
		if *q.dst, err = stats.ChainMean(q.series); err != nil {
			return MCMCEstimates{}, err
		}
	}
	est.TauIntEnergy, est.TauIntAbsMagnetization = est.EnergyPerSite.Tau, est.AbsMagnetization.Tau
	est.TauInt = math.Max(est.TauIntEnergy, est.TauIntAbsMagnetization)
	tauMax := math.Max(est.TauInt, math.Max(est.MagnetizationSq.Tau, est.Magnetization4.Tau))

	blocks := int(float64(m) / (chainBlockTaus * tauMax))
	est.Blocks = max(2, min(maxChainBlocks, blocks))
	u, err := stats.Uniform(m)
	if err != nil {
		return MCMCEstimates{}, err
	}
	est.SpecificHeatPerSite = u.Jackknife(est.Blocks, specificHeat(beta, n), col.energyC, col.energyC2)
	est.Binder = u.Jackknife(est.Blocks, binder, col.m2, col.m4)
	est.Susceptibility = u.Jackknife(est.Blocks, susceptibility(beta, n), col.abs, col.m2)

	if !(acceptance >= MinAcceptance) {
		est.Warnings = append(est.Warnings, fmt.Sprintf(
			"FLOW-MCMC NEARLY STUCK: acceptance %.3g (< %g); the chain visits few states and its error bars cannot be trusted",
			acceptance, MinAcceptance))
	}
	if blocks < minChainBlocks {
		est.Warnings = append(est.Warnings, fmt.Sprintf(
			"FLOW-MCMC CHAIN TOO SHORT: %d states for τ_int = %.3g (fewer than %d blocks of %d τ_int); the autocorrelation time and the error bars are unreliable",
			m, tauMax, minChainBlocks, chainBlockTaus))
	}
	return est, nil
}
