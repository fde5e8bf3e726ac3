// SPDX-License-Identifier: Apache-2.0

package sqlstore

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migration is one embedded migrations/NNNN_name.sql file.
type Migration struct {
	Version int
	Name    string // the file name, as schema_migrations records it
	SQL     string
}

// Migrator is what a store does for the runner. The statements differ per
// database (column types of schema_migrations, how a multi-statement file
// is sent), the order and the checks do not.
type Migrator interface {
	// SchemaVersion creates schema_migrations when it does not exist and
	// returns the highest version it records, 0 for an empty schema.
	SchemaVersion(ctx context.Context) (int, error)
	// Apply runs m.SQL and records m in schema_migrations, in one
	// transaction.
	Apply(ctx context.Context, m Migration) error
}

// Migrate applies the migrations of fsys (migrations/*.sql) newer than the
// schema, in version order, each in its own transaction. A schema newer
// than every migration means an older binary on a newer database: Migrate
// then applies nothing and returns tooNew(current, latest), the store's
// client-safe error.
func Migrate(ctx context.Context, fsys fs.FS, m Migrator, tooNew func(current, latest int) error) error {
	migrations, err := Migrations(fsys)
	if err != nil {
		return err
	}
	current, err := m.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	latest := 0
	if len(migrations) > 0 {
		latest = migrations[len(migrations)-1].Version
	}
	if current > latest {
		return tooNew(current, latest)
	}
	for _, mig := range migrations {
		if mig.Version <= current {
			continue
		}
		if err := m.Apply(ctx, mig); err != nil {
			return err
		}
	}
	return nil
}

// Migrations reads migrations/*.sql of fsys, ordered by version.
func Migrations(fsys fs.FS) ([]Migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	out := make([]Migration, 0, len(names))
	for _, name := range names {
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("sqlstore: migration %s is not named NNNN_name.sql", base)
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: base, SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}
