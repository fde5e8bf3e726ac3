// SPDX-License-Identifier: Apache-2.0

package portolan_test

import (
	"testing"

	"portolan"
)

func TestCompareVersions(t *testing.T) {
	ordered := []string{"", "0.9", "1", "1.0", "1.0.1", "1.2", "1.9", "1.20", "2.4.9", "2.4.71", "9.2p1", "9.2p2", "9.3", "10.0", "10.0a", "10.0b"}
	for i := range ordered {
		for j := range ordered {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := portolan.CompareVersions(ordered[i], ordered[j]); got != want {
				t.Errorf("CompareVersions(%q, %q) = %d, want %d", ordered[i], ordered[j], got, want)
			}
		}
	}
	if portolan.CompareVersions("1.01", "1.1") != 0 {
		t.Error("leading zeros must not count")
	}
}

func TestFoldASCII(t *testing.T) {
	for in, want := range map[string]string{"NGINX": "nginx", "nginx": "nginx", "ÉCOLE": "École", "": ""} {
		if got := portolan.FoldASCII(in); got != want {
			t.Errorf("FoldASCII(%q) = %q, want %q", in, got, want)
		}
	}
}
