// SPDX-License-Identifier: Apache-2.0

package sqlstore_test

import (
	"context"
	"errors"
	"testing"
	"testing/fstest"

	"portolan/internal/sqlstore"
)

type fakeMigrator struct {
	current int
	applied []string
}

func (f *fakeMigrator) SchemaVersion(context.Context) (int, error) { return f.current, nil }

func (f *fakeMigrator) Apply(_ context.Context, m sqlstore.Migration) error {
	f.applied = append(f.applied, m.Name)
	f.current = m.Version
	return nil
}

var errTooNew = errors.New("too new")

func tooNew(int, int) error { return errTooNew }

func TestMigrateAppliesPendingInVersionOrder(t *testing.T) {
	fsys := fstest.MapFS{
		"migrations/0010_ten.sql": {Data: []byte("x")},
		"migrations/0002_two.sql": {Data: []byte("x")},
		"migrations/0001_one.sql": {Data: []byte("x")},
	}
	m := &fakeMigrator{current: 1}
	if err := sqlstore.Migrate(context.Background(), fsys, m, tooNew); err != nil {
		t.Fatal(err)
	}
	if len(m.applied) != 2 || m.applied[0] != "0002_two.sql" || m.applied[1] != "0010_ten.sql" {
		t.Fatalf("applied %v, want 0002 then 0010", m.applied)
	}
	m.applied = nil
	if err := sqlstore.Migrate(context.Background(), fsys, m, tooNew); err != nil || len(m.applied) != 0 {
		t.Fatalf("second run applied %v, err %v", m.applied, err)
	}
}

func TestMigrateRefusesANewerSchema(t *testing.T) {
	fsys := fstest.MapFS{"migrations/0001_one.sql": {Data: []byte("x")}}
	m := &fakeMigrator{current: 2}
	if err := sqlstore.Migrate(context.Background(), fsys, m, tooNew); !errors.Is(err, errTooNew) || len(m.applied) != 0 {
		t.Fatalf("err %v, applied %v", err, m.applied)
	}
}

func TestMigrateRejectsABadName(t *testing.T) {
	fsys := fstest.MapFS{"migrations/init.sql": {Data: []byte("x")}}
	if err := sqlstore.Migrate(context.Background(), fsys, &fakeMigrator{}, tooNew); err == nil {
		t.Fatal("a migration not named NNNN_name.sql was accepted")
	}
}
