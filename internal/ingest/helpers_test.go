// SPDX-License-Identifier: Apache-2.0

package ingest_test

import (
	"encoding/json"
	"math/rand/v2"
	"testing"

	"portolan"
)

func newRand() *rand.Rand { return rand.New(rand.NewPCG(42, 42)) }

func nativeLine(t *testing.T, o *portolan.Observation) string {
	t.Helper()
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
