package provenance

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"
)

func TestCollect(t *testing.T) {
	p := Collect([]string{"isingflow", "-L", "4"})
	if p.Go != runtime.Version() || p.GOMAXPROCS != runtime.GOMAXPROCS(0) || p.BLAS == "" || p.Elementwise == "" || p.Version == "" {
		t.Errorf("incomplete provenance %+v", p)
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{`"go":`, `"blas":`, `"gomaxprocs":`, `"command_line":["isingflow","-L","4"]`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("JSON %s lacks %s", b, k)
		}
	}
	s := Provenance{Version: "v1.0.0", Revision: "abc", Modified: true, Go: "go1.26", BLAS: "OpenBLAS", Elementwise: "scalar", GOMAXPROCS: 2}.String()
	if want := "v1.0.0 (revision abc, modified); go1.26; BLAS: OpenBLAS; elementwise: scalar; GOMAXPROCS 2"; s != want {
		t.Errorf("String() = %q, want %q", s, want)
	}
}
