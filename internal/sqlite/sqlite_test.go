// SPDX-License-Identifier: Apache-2.0

package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

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

// TestRefusalIsConflict: a record the database will not hold is ECONFLICT,
// the code ingest isolates, and the refused batch leaves nothing behind.
// Two components whose ids collide ("a$" with "b", "a" with "$b"), which
// Normalize refuses, are given straight to the store: before readers
// refused them, this was the raw UNIQUE failure that cost a whole batch.
func TestRefusalIsConflict(t *testing.T) {
	s := openTest(t, nil)
	defer s.Close()
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	o := &portolan.Observation{Host: "192.0.2.7", Port: 80, Protocol: portolan.TCP, Status: portolan.StatusOpen, Source: "native",
		ScannedAt: at, SeenAt: at, Components: []portolan.Component{{Name: "a$", Version: "b"}, {Name: "a", Version: "$b"}}}
	_, err := s.ImportObservations(context.Background(), []*portolan.Observation{o})
	if code := portolan.ErrorCode(err); code != portolan.ECONFLICT {
		t.Fatalf("colliding component ids: %v (code %q), want ECONFLICT", err, code)
	}
	if _, err := s.FindHostPortByID(context.Background(), portolan.HostPortID("192.0.2.7", portolan.TCP, 80)); portolan.ErrorCode(err) != portolan.ENOTFOUND {
		t.Errorf("the refused batch left a record: %v", err)
	}
}

var _ portolan.Pruner = (*sqlite.DB)(nil)

func TestSubscriptions(t *testing.T) { storetest.RunSubscriptions(t, openTest) }
