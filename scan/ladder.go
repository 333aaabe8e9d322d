package scan

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/isingflow/isingflow/model"
	"github.com/isingflow/isingflow/train"
)

// LadderFraction is the share of a size ladder's budget that each smaller
// lattice takes: of the time limit when there is one, else of the
// iterations (docs/multiscale.md, "A size ladder inside the budget").
const LadderFraction = 0.25

// LadderMinSize is the smallest lattice a ladder starts from.
const LadderMinSize = 4

// LadderSizes returns the smaller lattice sizes of a ladder of the given
// number of rungs below L, smallest first: L/2^rungs, …, L/2. An error says
// why L cannot be halved that often.
func LadderSizes(L, rungs int) ([]int, error) {
	if rungs < 0 {
		return nil, fmt.Errorf("--ladder %d: must not be negative", rungs)
	}
	sizes := make([]int, rungs)
	s := L
	for i := rungs - 1; i >= 0; i-- {
		if s%2 != 0 || s/2 < LadderMinSize {
			return nil, fmt.Errorf("--ladder %d: L/2^%d is not a whole lattice of side %d or more (L = %d)", rungs, rungs, LadderMinSize, L)
		}
		s /= 2
		sizes[i] = s
	}
	return sizes, nil
}

// CheckLadder reports why the model c cannot make a ladder of the given
// number of rungs within the time limit d (0: none): its lattice cannot be
// halved that often, its parameters depend on L (a potential other than
// the multiscale one, or a quadratic part in the kernel basis or on open
// boundaries, whose arrays have the lattice's shape), or the rungs' shares
// leave nothing of d for L. Ladder makes the same checks.
func CheckLadder(c *model.Config, rungs int, d time.Duration) error {
	sizes, err := LadderSizes(c.L, rungs)
	switch {
	case err != nil:
		return err
	case len(sizes) == 0:
		return nil
	case c.Potential != model.PotentialMultiscale:
		return fmt.Errorf("--ladder %d: the %s potential's parameters depend on L; a ladder needs --potential multiscale", rungs, c.Potential)
	case c.Open || (c.Quadratic && c.QuadraticBasis != model.BasisSpectral):
		return fmt.Errorf("--ladder %d: the quadratic part's parameters depend on L unless it is in the spectral basis on a torus", rungs)
	case d > 0 && float64(len(sizes))*LadderFraction >= 1:
		return fmt.Errorf("--ladder %d: %d rungs of a quarter of --time-limit each leave nothing for L", rungs, len(sizes))
	}
	return nil
}

// DefaultLadder is the number of halvings of the default run's ladder for
// the model c (isingflow's --ladder -1): one for a model that can make a
// ladder (CheckLadder: the multiscale potential on a torus of even L) at
// L ≥ 16 that does not start from another run's flow (initFrom empty),
// else none (docs/multiscale.md).
func DefaultLadder(c *model.Config, initFrom string) int {
	if initFrom == "" && c.L >= 16 && CheckLadder(c, 1, 0) == nil {
		return 1
	}
	return 0
}

// LadderDir is the directory of the smaller lattices of the ladder of the
// run directory dir: dir.ladder, one run directory L<size> in it per rung.
// It lies beside dir, which stays an ordinary run directory.
func LadderDir(dir string) string { return filepath.Clean(dir) + ".ladder" }

// Ladder makes one run of rc at its lattice size L, like Point, after
// training the same model on each smaller lattice of LadderSizes(L, rungs)
// in turn (in LadderDir(opt.Dir)), each started from the trained flow of
// the one before (model.Model.TransferFrom, so the potential's parameters
// must not depend on L: model.PotentialMultiscale), and the run at L from
// the last. Small lattices cost less per step, and what a flow learns at
// L/2 carries over to L, so within a budget the ladder reaches a lower
// KL/site than the run at L alone (docs/multiscale.md).
//
// Each smaller lattice takes LadderFraction of the budget: of
// opt.Duration when it is set (the run at L then gets what remains), else
// of rc.Training.Iterations (the run at L then trains its own
// iterations). The first rung trains with rc.Training, the later rungs and
// the run at L with warm, the settings of a warm start (WarmSettings). The
// smaller lattices are evaluated on 1000 samples; the run at L with
// opt.Evaluation. With opt.Resume, a rung whose training ended (not by a
// signal) is kept, another resumed, and the run at L resumed if it was
// created: with
// warm if it began from another run's flow (with or without a ladder),
// else with rc.Training. If ctx ends during a smaller lattice, Ladder
// returns an error that wraps ErrIncomplete (a resume continues that
// lattice). With no rungs and no such resume it is Point(ctx, rc, opt).
func Ladder(ctx context.Context, rc model.RunConfig, warm model.Training, rungs int, opt Options) (*Result, error) {
	sizes, err := LadderSizes(rc.Model.L, rungs)
	if err != nil {
		return nil, &ConfigError{err}
	}
	if opt.Resume && exists(filepath.Join(opt.Dir, model.ConfigFile)) {
		// The run at L was made (with or without a ladder): it continues
		// with the settings it began with, a warm start's if it started
		// from another run's flow.
		old, err := model.ReadConfig(opt.Dir)
		if err != nil {
			return nil, &ConfigError{err}
		}
		return Point(ctx, withTraining(rc, warm, old.InitFrom != ""), opt)
	}
	if len(sizes) == 0 {
		return Point(ctx, rc, opt)
	}
	if err := CheckLadder(&rc.Model, rungs, opt.Duration); err != nil {
		return nil, &ConfigError{err}
	}
	switch {
	case opt.Resume && !exists(LadderDir(opt.Dir)):
		return nil, &ConfigError{fmt.Errorf("%s is not an isingflow run directory (no %s) and has no ladder %s", opt.Dir, model.ConfigFile, LadderDir(opt.Dir))}
	case !opt.Resume && (nonEmpty(opt.Dir) || nonEmpty(LadderDir(opt.Dir))):
		return nil, &ConfigError{fmt.Errorf("run directory %s (or its ladder %s) already exists: use --resume to continue it or --out to choose another", opt.Dir, LadderDir(opt.Dir))}
	}
	start := time.Now()
	from := opt.InitFrom
	for i, L := range sizes {
		dir := filepath.Join(LadderDir(opt.Dir), fmt.Sprintf("L%d", L))
		if opt.Resume && rungDone(dir) {
			from = dir
			continue
		}
		r := withTraining(rc, warm, i > 0 || from != "")
		r.Model.L = L
		o := opt
		o.Dir, o.InitFrom, o.Init, o.WarmStartT = dir, from, nil, nil
		o.Resume = opt.Resume && exists(filepath.Join(dir, model.ConfigFile))
		o.Evaluation = rungEvaluation(opt.Evaluation)
		if opt.Duration > 0 {
			o.Duration = time.Duration(LadderFraction * float64(opt.Duration))
		} else {
			r.Training.Iterations = max(1, int(LadderFraction*float64(rc.Training.Iterations)))
			r.Training.Warmup = min(r.Training.Warmup, r.Training.Iterations/4)
		}
		if err := os.MkdirAll(LadderDir(opt.Dir), 0o755); err != nil {
			return nil, err
		}
		if _, err := Point(ctx, r, o); err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("stopped in the ladder at L = %d (--resume continues it): %w", L, ErrIncomplete)
		}
		from = dir
	}
	o := opt
	o.InitFrom, o.Init, o.Resume = from, nil, false
	if opt.Duration > 0 {
		o.Duration = max(time.Second, opt.Duration-time.Since(start))
	}
	return Point(ctx, withTraining(rc, warm, from != ""), o)
}

// withTraining returns rc with the training warm if warmStart.
func withTraining(rc model.RunConfig, warm model.Training, warmStart bool) model.RunConfig {
	if warmStart {
		rc.Training = warm
	}
	return rc
}

// rungEvaluation is the evaluation of a ladder's smaller lattice: 1000
// samples of e's seed, no chain, no log-determinant check, and the
// integrator's error on at most 16 samples.
func rungEvaluation(e Evaluation) Evaluation {
	e.Samples, e.MCMC, e.LogDetCheck = 1000, 0, 0
	e.Discretisation = min(e.Discretisation, 16)
	return e
}

// rungDone reports whether the rung in dir has a result that was not cut
// short by a signal (a rung stopped by its time limit is done: that is its
// share of the budget).
func rungDone(dir string) bool {
	r, err := ReadResult(dir)
	return err == nil && r.Stop != train.StatusInterrupted.String()
}

// exists reports whether the file or directory path exists.
func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, os.ErrNotExist)
}

// nonEmpty reports whether the directory dir exists with entries in it.
func nonEmpty(dir string) bool {
	ents, err := os.ReadDir(dir)
	return err == nil && len(ents) > 0
}
