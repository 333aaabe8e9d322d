package mnist

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
)

// State is a run's progress and bookkeeping, saved in every checkpoint
// beside the trainer's state.
type State struct {
	// Data is the directory of the run's MNIST files (for evaluation).
	Data string `json:"data"`
	// Batch is the number of training batches drawn, the rejected ones
	// included: batch k of an epoch is the images k·B … (k+1)·B−1 of its
	// order, so Batch/BatchesPerEpoch is the number of epochs done.
	Batch int `json:"batch"`
	// EpochNLL and EpochBPD are the sums of the accepted batches' NLL and
	// bits/dim in the current epoch, EpochBatches their number.
	EpochNLL     float64 `json:"epoch_nll"`
	EpochBPD     float64 `json:"epoch_bpd"`
	EpochBatches int     `json:"epoch_batches"`
	Rejected     int     `json:"rejected"` // rejected steps so far
	// BestNLL is the lowest validation NLL so far (nil: none), reached
	// after BestBatch batches: the parameters of best.npz.
	BestNLL   *float64 `json:"best_nll"`
	BestBatch int      `json:"best_batch"`
	// ValNLL is the validation NLL of the current parameters, when known.
	ValNLL    *float64 `json:"val_nll"`
	ValNLLErr *float64 `json:"val_nll_err"`
	// Elapsed is the wall-clock time of the run so far in seconds,
	// TrainSeconds that of its training steps (without validation).
	Elapsed      float64 `json:"elapsed"`
	TrainSeconds float64 `json:"train_seconds"`
}

// objective is the likelihood of MNIST batches as a train.Objective: the
// mean negative log-likelihood (nats, logit space) of a batch of
// dequantised, logit-transformed training images under the flow, plus the
// flow's transport cost when its KineticWeight is set. It draws the
// batches in a random order, a new one every epoch, from the stream
// StreamTrain, which also gives the dequantisation noise.
type objective struct {
	cfg   *Config
	flow  *flow.Flow
	data  *Dataset
	state State

	pcg *rand.PCG
	rng *rand.Rand
	// epochRNG is the state of pcg when the current epoch's order was
	// drawn, from which perm is drawn again after a restore; images is
	// the number of training images it orders (0: no order drawn yet).
	epochRNG []byte
	images   int
	perm     []int

	y      *mat.Dense
	logJac []float64
	idx    []int
	loss   flow.Loss
	nll    float64   // the last batch's mean NLL, without the transport cost
	start  time.Time // when the last evaluation began
}

func newObjective(cfg *Config, f *flow.Flow) *objective {
	pcg := rand.NewPCG(cfg.Seed, StreamTrain)
	o := &objective{cfg: cfg, flow: f, pcg: pcg, rng: rand.New(pcg)}
	o.loss = flow.LossFunc(func(dy *mat.Dense, dlogp []float64, y *mat.Dense, logp []float64) float64 {
		o.nll = NegLogLikelihood.Loss(dy, dlogp, y, logp)
		return o.nll
	})
	return o
}

// Params returns the flow's parameters.
func (o *objective) Params() []float64 { return o.flow.Potential.Params() }

// ParamLayout names the flow's parameters (flow.Layout), so that the
// checkpoints of package train store them as named arrays.
func (o *objective) ParamLayout() []flow.ParamBlock { return flow.Layout(o.flow.Potential) }

// batchesPerEpoch is the number of whole batches in the training set.
func (o *objective) batchesPerEpoch() int { return o.data.Train.Len() / o.cfg.Batch }

// Evaluate draws the next batch of the epoch's order (a new order at the
// start of an epoch), dequantises it and maps it to logit space, and
// returns the mean NLL plus the transport cost with its gradient, the
// matrix products in the configured precision.
func (o *objective) Evaluate(grad []float64, _ int) (float64, error) {
	if o.data == nil {
		return 0, errors.New("mnist: the run has no training data")
	}
	o.start = time.Now()
	c := o.cfg
	im := o.data.Train.Images
	k := o.state.Batch % o.batchesPerEpoch()
	switch {
	case k == 0:
		st, err := o.pcg.MarshalBinary()
		if err != nil {
			return 0, err
		}
		o.epochRNG, o.images = st, im.N
		o.perm = o.rng.Perm(im.N)
	case o.perm == nil:
		if o.images != im.N {
			return 0, fmt.Errorf("mnist: the epoch's order covers %d training images, the data has %d", o.images, im.N)
		}
		var pcg rand.PCG
		if err := pcg.UnmarshalBinary(o.epochRNG); err != nil {
			return 0, fmt.Errorf("mnist: the epoch's random state: %v", err)
		}
		o.perm = rand.New(&pcg).Perm(im.N)
	}
	if o.y == nil {
		o.y = mat.NewDense(c.Batch, im.Dim(), nil)
		o.logJac = make([]float64, c.Batch)
		o.idx = make([]int, c.Batch)
	}
	copy(o.idx, o.perm[k*c.Batch:(k+1)*c.Batch])
	LogitBatch(o.y, o.logJac, im, o.idx, o.rng)
	flow.SetPrecision(o.flow.Potential, c.Precision)
	J := o.flow.Gradient(grad, nil, o.y, flow.Density, o.loss)
	flow.SetPrecision(o.flow.Potential, flow.Float64)
	o.state.Batch++
	return J, nil
}

// bitsPerDim returns the last batch's mean bits per dimension.
func (o *objective) bitsPerDim() float64 {
	var bpd float64
	d := o.cfg.Rows * o.cfg.Cols
	for _, lj := range o.logJac {
		bpd += BitsPerDim(o.nll, lj, d)
	}
	return bpd / float64(len(o.logJac))
}

// objectiveState is what MarshalState stores.
type objectiveState struct {
	Run      State  `json:"run"`
	RNG      []byte `json:"rng"`                 // the training stream
	EpochRNG []byte `json:"epoch_rng,omitempty"` // the stream when the epoch's order was drawn
	Images   int    `json:"images,omitempty"`    // the training images it orders
}

// MarshalState returns the run's State, the training stream and the state
// it had when the current epoch's order was drawn (from which the order is
// drawn again on resume), as JSON.
func (o *objective) MarshalState() ([]byte, error) {
	rng, err := o.pcg.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return json.Marshal(objectiveState{Run: o.state, RNG: rng, EpochRNG: o.epochRNG, Images: o.images})
}

// UnmarshalState restores what MarshalState stored; the epoch's order is
// drawn again at the next evaluation.
func (o *objective) UnmarshalState(b []byte) error {
	var st objectiveState
	if err := json.Unmarshal(b, &st); err != nil {
		return err
	}
	s := &st.Run
	if s.Batch < 0 || s.EpochBatches < 0 || s.Rejected < 0 || st.Images < 0 || (st.Images > 0) != (len(st.EpochRNG) > 0) {
		return fmt.Errorf("corrupted (batch %d, %d batches in the epoch, %d images ordered)", s.Batch, s.EpochBatches, st.Images)
	}
	var pcg, epoch rand.PCG
	if err := pcg.UnmarshalBinary(st.RNG); err != nil {
		return fmt.Errorf("random state: %v", err)
	}
	if st.Images > 0 {
		if err := epoch.UnmarshalBinary(st.EpochRNG); err != nil {
			return fmt.Errorf("random state of the epoch: %v", err)
		}
	}
	*o.pcg = pcg
	o.state, o.epochRNG, o.images, o.perm = *s, st.EpochRNG, st.Images, nil
	return nil
}
