package observables

import "github.com/isingflow/isingflow/internal/mcstats"

// Estimate is a Monte Carlo estimate: the mean and the standard error of the
// mean, printed as "0.7139 ± 0.0004" (the error to one significant digit,
// two when it starts with 1). Deviation(exact) gives (Mean − exact)/Err.
// Nobody should see a bare mean. (validation.Estimate is the same type.)
type Estimate = mcstats.Estimate
