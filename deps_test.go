// SPDX-License-Identifier: Apache-2.0

package portolan_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDomainImportsOnlyStandardLibrary keeps the root package free of
// dependencies, so the domain never leans on a technology.
func TestDomainImportsOnlyStandardLibrary(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg != "portolan" {
			t.Errorf("package portolan depends on %s; the domain may import only the standard library", pkg)
		}
	}
}
