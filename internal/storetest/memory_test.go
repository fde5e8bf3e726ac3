// SPDX-License-Identifier: Apache-2.0

package storetest_test

import (
	"testing"

	"portolan"
	"portolan/internal/storetest"
)

// TestMemoryStoreConformance runs the suite against the reference itself,
// fed in shuffled batches: the property test of the merge rules (random
// order, duplicates and batch sizes give byte-identical records to the
// sorted single pass).
func TestMemoryStoreConformance(t *testing.T) {
	storetest.Run(t, func(t testing.TB, r portolan.Recognizer) portolan.Store {
		return storetest.NewMemoryStore(r)
	})
}
