package mnist

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/stats"
)

// NegLogLikelihood is the maximum-likelihood loss of a flow integrated in
// the flow.Density direction from a batch of logit-space images y_b:
//
//	L = −(1/B) Σ_b ln p_Y(y_b),   ∂L/∂ln p_b = −1/B,   ∂L/∂z = 0,
//
// the batch mean of the negative log-likelihood in nats (logit space), the
// quantity of the paper's Table 1. Pass it to (*flow.Flow).Gradient with
// flow.Density.
var NegLogLikelihood flow.Loss = flow.LossFunc(negLogLikelihood)

func negLogLikelihood(_ *mat.Dense, dlogp []float64, _ *mat.Dense, logp []float64) float64 {
	inv := 1 / float64(len(logp))
	var sum float64
	for b, v := range logp {
		sum += v
		dlogp[b] = -inv
	}
	return -sum * inv
}

// DefaultEvalBatch is the number of images an Evaluator integrates at once
// when its Batch is zero.
const DefaultEvalBatch = 100

// Evaluator computes the negative log-likelihood of images under a flow,
// image by image, in batches: each image is dequantised and mapped to logit
// space (LogitBatch), then integrated back to the latent space by
// flow.Flow.LogDensity: with the flow's fixed-step RK4 scheme or, when the
// flow's Integrator is set, with that integrator over the same flow time.
// The zero value needs Flow set. An Evaluator keeps its workspaces between
// calls and is not safe for concurrent use.
type Evaluator struct {
	Flow  *flow.Flow
	Batch int // images per batch; 0 means DefaultEvalBatch

	// Progress, when not nil, is called after every batch with the number
	// of images done so far.
	Progress func(done int)

	y    *mat.Dense
	logp []float64
	idx  []int
}

// Evaluate writes −ln p_Y(y_n) (nats, logit space) of every image n of im
// into nll[n] and its LogitJacobian into logJac[n]. The dequantisation
// noise is drawn from rng image by image in order, so the result does not
// depend on Batch and two evaluations from equal rng states see the same
// y_n (a paired comparison of integrators). It returns the integration
// statistics summed over the batches, and an error if the flow's settings
// are invalid or the integrator fails. It panics if the lengths disagree
// with im.N or the flow's dimension with im.Dim().
func (e *Evaluator) Evaluate(nll, logJac []float64, im *Images, rng *rand.Rand) (flow.Stats, error) {
	if len(nll) != im.N || len(logJac) != im.N {
		panic(fmt.Sprintf("mnist: Evaluate: len(nll) = %d, len(logJac) = %d, want %d", len(nll), len(logJac), im.N))
	}
	if err := e.Flow.Validate(); err != nil {
		return flow.Stats{}, err
	}
	if d := e.Flow.Dim(); d != im.Dim() {
		panic(fmt.Sprintf("mnist: Evaluate: the flow has dimension %d, the images %d", d, im.Dim()))
	}
	batch := e.Batch
	if batch <= 0 {
		batch = DefaultEvalBatch
	}
	var total flow.Stats
	for lo := 0; lo < im.N; lo += batch {
		hi := min(lo+batch, im.N)
		y := e.ensure(hi-lo, im.Dim())
		for i := range e.idx {
			e.idx[i] = lo + i
		}
		LogitBatch(y, logJac[lo:hi], im, e.idx, rng)
		err := e.Flow.LogDensity(e.logp, y)
		total.Add(e.Flow.LastStats())
		if err != nil {
			return total, err
		}
		for i, v := range e.logp {
			nll[lo+i] = -v
		}
		if e.Progress != nil {
			e.Progress(hi)
		}
	}
	return total, nil
}

// ensure sizes the workspaces for a batch of b images of d pixels.
func (e *Evaluator) ensure(b, d int) *mat.Dense {
	if e.y == nil || e.y.RawMatrix().Rows != b || e.y.RawMatrix().Cols != d {
		if e.y != nil && cap(e.y.RawMatrix().Data) >= b*d {
			e.y = mat.NewDense(b, d, e.y.RawMatrix().Data[:b*d])
		} else {
			e.y = mat.NewDense(b, d, nil)
		}
	}
	if cap(e.logp) < b {
		e.logp = make([]float64, b)
		e.idx = make([]int, b)
	}
	e.logp, e.idx = e.logp[:b], e.idx[:b]
	return e.y
}

// Summary is the negative log-likelihood of a set of images averaged over
// the images, with one standard error of the mean (sample standard
// deviation over √N, stats.MeanErr): in nats per image in logit space (the paper's Table 1)
// and in bits per dimension of the 8-bit images (BitsPerDim of each image,
// then averaged). Errors are zero for fewer than two images.
type Summary struct {
	Images        int     `json:"images"`
	NLL           float64 `json:"nll_nats"`
	NLLErr        float64 `json:"nll_nats_err"`
	BitsPerDim    float64 `json:"bits_per_dim"`
	BitsPerDimErr float64 `json:"bits_per_dim_err"`
}

// Summarize returns the Summary of the per-image negative log-likelihoods
// nll (nats, logit space) with their logit Jacobians logJac, for images of
// d pixels. It panics if the lengths differ.
func Summarize(nll, logJac []float64, d int) Summary {
	if len(nll) != len(logJac) {
		panic(fmt.Sprintf("mnist: Summarize: len(nll) = %d, len(logJac) = %d", len(nll), len(logJac)))
	}
	bits := make([]float64, len(nll))
	for i := range nll {
		bits[i] = BitsPerDim(nll[i], logJac[i], d)
	}
	e, b := stats.MeanErr(nll), stats.MeanErr(bits)
	return Summary{Images: len(nll), NLL: e.Mean, NLLErr: e.Err, BitsPerDim: b.Mean, BitsPerDimErr: b.Err}
}

// PairedDifference compares two evaluations of the same images with the
// same dequantisation noise (by two integrators, say): it returns the mean
// of the per-image differences b_i − a_i with its standard error (far
// smaller than that of either mean, which the images' spread dominates)
// and the largest |b_i − a_i|. It panics if the lengths differ.
func PairedDifference(a, b []float64) (diff stats.Estimate, maxAbs float64) {
	if len(a) != len(b) {
		panic(fmt.Sprintf("mnist: PairedDifference: len(a) = %d, len(b) = %d", len(a), len(b)))
	}
	d := make([]float64, len(a))
	for i := range d {
		d[i] = b[i] - a[i]
		maxAbs = math.Max(maxAbs, math.Abs(d[i]))
	}
	return stats.MeanErr(d), maxAbs
}

// SampleImages draws n images of rows×cols pixels from the flow: z ~ N(0, I)
// from rng pushed forward to logit space, as flow.Flow.Sample draws them
// (the fixed-step scheme unless the flow's Integrator is set), then mapped back to
// intensities by InverseLogit and to 8-bit pixels by Quantize (which clamps
// to [0, 1]). It returns the error of the flow, if any, and panics if
// rows·cols differs from the flow's dimension.
func SampleImages(f *flow.Flow, n, rows, cols int, rng *rand.Rand) (*Images, error) {
	return SampleImagesAt(f, n, rows, cols, 1, rng)
}

// SampleImagesAt is SampleImages at temperature T: the latent z ~ N(0, T²I)
// is the base Gaussian narrowed by T before it is pushed forward, as Glow
// (Kingma and Dhariwal, arXiv:1807.03039) shows its samples. Below 1 the
// images are typically cleaner and less varied, and are no longer samples
// of the model's density; T = 1 draws exactly what flow.Flow.Sample draws
// from the same rng. It returns an error if T is not a positive finite
// number.
func SampleImagesAt(f *flow.Flow, n, rows, cols int, temperature float64, rng *rand.Rand) (*Images, error) {
	d := rows * cols
	if d != f.Dim() {
		panic(fmt.Sprintf("mnist: SampleImagesAt: %d×%d images for a flow of dimension %d", rows, cols, f.Dim()))
	}
	if !(temperature > 0) || math.IsInf(temperature, 1) {
		return nil, fmt.Errorf("mnist: temperature %g: want a positive finite number", temperature)
	}
	im := &Images{N: n, Rows: rows, Cols: cols, Pixels: make([]uint8, n*d)}
	if n == 0 {
		return im, nil
	}
	if err := f.Validate(); err != nil {
		return nil, err // before drawing from rng, as flow.Flow.Sample
	}
	y := mat.NewDense(n, d, nil)
	z := y.RawMatrix().Data
	for i := range z {
		z[i] = temperature * rng.NormFloat64()
	}
	if err := f.Forward(y, nil, y); err != nil {
		return nil, err
	}
	x := make([]float64, d)
	for i := range n {
		InverseLogit(x, y.RawRowView(i))
		Quantize(im.Pixels[i*d:(i+1)*d], x)
	}
	return im, nil
}
