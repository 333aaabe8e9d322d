// Package provenance records where a result comes from: the program's
// version and VCS revision from the build information, the toolchain, the
// BLAS and the elementwise loops in use, GOMAXPROCS, the host and the
// command line. Run directories store it beside their results.
package provenance

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/internal/blasimpl"
)

// Provenance describes the program and the machine that produced a result.
type Provenance struct {
	Version     string   `json:"version"`            // the module's version ("(devel)" for a build in the work tree)
	Revision    string   `json:"revision,omitempty"` // the VCS revision of the build
	Modified    bool     `json:"modified,omitempty"` // the work tree had uncommitted changes
	Go          string   `json:"go"`                 // the toolchain
	BLAS        string   `json:"blas"`               // blasimpl.Name
	Elementwise string   `json:"elementwise"`        // flow.Elementwise
	GOMAXPROCS  int      `json:"gomaxprocs"`
	Host        string   `json:"host,omitempty"`
	CommandLine []string `json:"command_line,omitempty"`
}

// Collect returns the provenance of this process, with args as its command
// line (nil to leave it out).
func Collect(args []string) Provenance {
	p := Provenance{
		Version:     "(unknown)",
		Go:          runtime.Version(),
		BLAS:        blasimpl.Name(),
		Elementwise: flow.Elementwise(),
		GOMAXPROCS:  runtime.GOMAXPROCS(0),
		CommandLine: args,
	}
	p.Host, _ = os.Hostname()
	if bi, ok := debug.ReadBuildInfo(); ok {
		p.Version = bi.Main.Version
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				p.Revision = s.Value
			case "vcs.modified":
				p.Modified = s.Value == "true"
			}
		}
	}
	return p
}

// String is the version line of a command: "NAME VERSION (revision R,
// modified) go1.26 BLAS …, elementwise …".
func (p Provenance) String() string {
	var b strings.Builder
	b.WriteString(p.Version)
	if p.Revision != "" {
		fmt.Fprintf(&b, " (revision %s", p.Revision)
		if p.Modified {
			b.WriteString(", modified")
		}
		b.WriteString(")")
	}
	fmt.Fprintf(&b, "; %s; BLAS: %s; elementwise: %s; GOMAXPROCS %d", p.Go, p.BLAS, p.Elementwise, p.GOMAXPROCS)
	return b.String()
}
