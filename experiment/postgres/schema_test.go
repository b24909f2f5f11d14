package postgres_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/krslab/krslab/experiment/postgres"
	"github.com/krslab/krslab/experiment/postgres/pgtest"
	"github.com/krslab/krslab/migrations"
)

// schemaFile is the schema as it stands after the newest migration, so that the current
// definition of every table, constraint, trigger and function can be read in one file.
const schemaFile = "../../migrations/schema.sql"

const schemaHeader = `-- The krslab schema as it stands after the newest migration, for reading: the migrations
-- (0*.sql, applied by krslab migrate) are what builds it. Generated from a migrated database
-- by pg_dump; do not edit, run make schema after adding a migration (a test compares it).

`

// TestSchemaFileIsTheMigratedSchema migrates an empty database and compares its schema with
// migrations/schema.sql; with KRSLAB_WRITE_SCHEMA=1 it writes the file instead.
func TestSchemaFileIsTheMigratedSchema(t *testing.T) {
	ctx := context.Background()
	db, dbURL := emptyDatabase(t, "krslab_schema")
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS, goose.WithLogger(goose.NopLogger()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatal(err)
	}
	dump := pgDump(t, dbURL)
	if os.Getenv("KRSLAB_WRITE_SCHEMA") == "1" {
		if err := os.WriteFile(schemaFile, []byte(dump), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", schemaFile)
		return
	}
	want, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != dump {
		got := filepath.Join(t.TempDir(), "schema.sql")
		os.WriteFile(got, []byte(dump), 0o644)
		diff, _ := exec.Command("diff", "-u", schemaFile, got).Output()
		t.Errorf("migrations/schema.sql is not the migrated schema; run make schema\n%s", diff)
	}
}

// emptyDatabase creates a database without any migration on the package's server, dropped
// at the end of the test, and returns it with its URL.
func emptyDatabase(t *testing.T, prefix string) (*sql.DB, string) {
	t.Helper()
	u, drop, err := postgres.CreateDatabase(context.Background(), pgtest.URL(t), fmt.Sprintf("%s_%d", prefix, time.Now().UnixNano()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { drop(context.Background()) })
	db, err := sql.Open("postgres", u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, u
}

// pgDump is the schema of the database at dbURL, without the migrations' own bookkeeping and
// without the lines that change from one run or version of pg_dump to the next.
func pgDump(t *testing.T, dbURL string) string {
	t.Helper()
	bin := "pg_dump"
	if dir := os.Getenv("PGBIN"); dir != "" {
		bin = filepath.Join(dir, "pg_dump")
	} else if _, err := os.Stat("/usr/lib/postgresql/15/bin/pg_dump"); err == nil {
		bin = "/usr/lib/postgresql/15/bin/pg_dump"
	}
	cmd := exec.Command(bin, "--schema-only", "--no-owner", "--no-privileges", "--exclude-table=goose_db_version*", dbURL)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", bin, err, stderr.String())
	}
	var b strings.Builder
	b.WriteString(schemaHeader)
	blank := true
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "-- Dumped ") || strings.HasPrefix(line, `\restrict`) || strings.HasPrefix(line, `\unrestrict`) {
			continue
		}
		if line == "" && blank {
			continue
		}
		blank = line == ""
		b.WriteString(line + "\n")
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}
