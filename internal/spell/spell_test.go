// SPDX-License-Identifier: Apache-2.0

package spell_test

import (
	"testing"

	"portolan/internal/spell"
)

func TestClosest(t *testing.T) {
	names := []string{"serve", "ingest", "search", "hosts", "hostPorts", "nmap", "format"}
	for got, want := range map[string]string{
		"serv": "serve", "ingets": "ingest", "host": "hosts", "hostports": "hostPorts", "HostPort": "hostPorts",
		"nmpa": "nmap", "frmat": "format", "Hosts": "hosts", "hosts": "", "x": "", "frobnicate": "", "bench": "",
	} {
		if c, ok := spell.Closest(got, names); c != want || ok != (want != "") {
			t.Errorf("Closest(%q) = %q, %v; want %q", got, c, ok, want)
		}
	}
}
