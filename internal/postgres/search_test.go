// SPDX-License-Identifier: Apache-2.0

package postgres_test

import (
	"context"
	"testing"

	"portolan"
	"portolan/internal/postgres"
	"portolan/internal/storetest"
)

func TestSearch(t *testing.T) {
	base := testURL(t)
	storetest.RunSearch(t, func(t testing.TB, r portolan.Recognizer) portolan.Store {
		db, err := postgres.Open(context.Background(), newSchema(t, base), postgres.Options{Recognizer: r})
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		return db
	})
}

func TestSearchWhileImporting(t *testing.T) {
	base := testURL(t)
	storetest.RunSearchWhileImporting(t, func(t testing.TB, r portolan.Recognizer) portolan.Store {
		db, err := postgres.Open(context.Background(), newSchema(t, base), postgres.Options{Recognizer: r})
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		return db
	})
}
