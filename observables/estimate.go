package observables

import "github.com/isingflow/isingflow/stats"

// Estimate is a Monte Carlo estimate, a mean and its standard error.
//
// Deprecated: use stats.Estimate, of which this is an alias.
type Estimate = stats.Estimate
