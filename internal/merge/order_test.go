// SPDX-License-Identifier: Apache-2.0

package merge_test

import (
	"slices"
	"testing"

	"portolan/internal/merge"
)

// SortByID compares bytes, as the paging cursor and the stores' ORDER BY id
// do: upper case before lower, '+' and '/' (base64) before digits.
func TestSortByIDComparesBytes(t *testing.T) {
	ids := []string{"b", "a", "B", "9", "/", "+", "ab", "A"}
	merge.SortByID(ids, func(s string) string { return s })
	want := []string{"+", "/", "9", "A", "B", "a", "ab", "b"}
	if !slices.Equal(ids, want) {
		t.Fatalf("got %q, want %q", ids, want)
	}
}
