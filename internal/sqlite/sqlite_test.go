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

func openTest(t testing.TB, r portolan.Recognizer) portolan.Store {
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "test.db"), sqlite.Options{Recognizer: r})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return db
}

func TestConformance(t *testing.T) { storetest.Run(t, openTest) }

// TestRuleConformance proves that the SQL restating internal/merge's rules
// agrees with them.
func TestRuleConformance(t *testing.T) { storetest.RunRules(t, openTest) }

func TestChanges(t *testing.T) { storetest.RunChanges(t, openTest) }

func TestSubscriptions(t *testing.T) { storetest.RunSubscriptions(t, openTest) }
