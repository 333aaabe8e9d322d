//go:build !openblas || !cgo

package blasimpl_test

import (
	"testing"

	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/isingflow/isingflow/internal/blasimpl"
)

func TestImplementationPureGo(t *testing.T) {
	if _, ok := blas64.Implementation().(gonum.Implementation); !ok {
		t.Errorf("blas64 uses %T, want gonum.Implementation", blas64.Implementation())
	}
	if blasimpl.OpenBLAS {
		t.Error("OpenBLAS = true in the pure-Go build")
	}
	if got, want := blasimpl.Name(), "gonum (pure Go)"; got != want {
		t.Errorf("Name() = %q, want %q", got, want)
	}
}
