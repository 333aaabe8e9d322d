package lattice_test

import (
	"fmt"

	"github.com/isingflow/isingflow/lattice"
)

func ExampleNewHypercubic() {
	l, err := lattice.NewHypercubic(2, 16, lattice.Periodic)
	if err != nil {
		panic(err)
	}
	fmt.Println(l, l.N(), "sites", l.NumBonds(), "bonds")
	fmt.Printf("smallest eigenvalue of A: %.0f\n", l.MinAdjacencyEigenvalue())
	// Output:
	// 16x16 periodic 256 sites 512 bonds
	// smallest eigenvalue of A: -4
}
