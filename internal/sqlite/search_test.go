// SPDX-License-Identifier: Apache-2.0

package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"portolan"
	"portolan/internal/sqlite"
	"portolan/internal/storetest"
)

func TestSearch(t *testing.T) {
	storetest.RunSearch(t, func(t testing.TB, r portolan.Recognizer) portolan.Store {
		db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "test.db"), sqlite.Options{Recognizer: r})
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		return db
	})
}
