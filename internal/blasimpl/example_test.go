package blasimpl_test

import (
	"fmt"
	"os"

	"github.com/isingflow/isingflow/internal/blasimpl"
)

// A command imports the package for its side effect and says on stderr
// which BLAS it runs, for example "BLAS: openblas (coretype SkylakeX, 2
// threads)" or "BLAS: gonum (pure Go)". (No Output: it depends on the
// build and the machine.)
func ExampleName() {
	fmt.Fprintln(os.Stderr, "BLAS:", blasimpl.Name())
}
