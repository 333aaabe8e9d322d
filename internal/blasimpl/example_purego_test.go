//go:build !openblas || !cgo

package blasimpl_test

import (
	"fmt"

	"github.com/isingflow/isingflow/internal/blasimpl"
)

// A command imports the package for its side effect and prints which BLAS
// it runs, as both commands do on stderr. In the default build that is
// gonum's pure-Go BLAS; with -tags openblas it reads, for example,
// "openblas (coretype Haswell, 1 threads)", which depends on the machine.
func ExampleName() {
	fmt.Println("BLAS:", blasimpl.Name())
	// Output: BLAS: gonum (pure Go)
}
