// Package pgtest gives each test package its own throwaway PostgreSQL database, created
// from DATABASE_URL, migrated, and dropped when the package's tests end.
//
// Use it from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// and get the store with pgtest.Store(t). Without DATABASE_URL, tests that need the
// database are skipped, unless KRSLAB_REQUIRE_DB=1 (CI), which makes them fail.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/krslab/krslab/experiment/postgres"
)

var (
	store   *postgres.Store
	dbURL   string
	initErr error
)

// Main creates the package's database, runs the tests and drops the database.
func Main(m *testing.M) {
	drop := setup()
	code := m.Run()
	if drop != nil {
		drop()
	}
	os.Exit(code)
}

func setup() func() {
	base := os.Getenv("DATABASE_URL")
	if base == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var drop func(context.Context) error
	dbURL, drop, initErr = postgres.CreateDatabase(ctx, base, databaseName())
	if initErr != nil {
		initErr = fmt.Errorf("test database: %w", initErr)
		return nil
	}
	store, initErr = postgres.Open(ctx, dbURL, postgres.Options{MaxOpenConns: 32})
	if initErr == nil {
		_, initErr = store.Migrate(ctx)
	}
	return func() {
		if store != nil {
			store.Close()
		}
		if err := drop(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
	}
}

// databaseName names the database after the test binary, with a random suffix so that
// packages and repeated runs never collide.
func databaseName() string {
	pkg := strings.TrimSuffix(filepath.Base(os.Args[0]), ".test")
	pkg = regexp.MustCompile(`[^a-z0-9_]`).ReplaceAllString(strings.ToLower(pkg), "_")
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("krslab_test_%.30s_%s", pkg, hex.EncodeToString(b[:]))
}

// Store returns the package's migrated store, or skips the test when no database is
// configured (fails instead when KRSLAB_REQUIRE_DB=1).
func Store(t testing.TB) *postgres.Store {
	t.Helper()
	if initErr != nil {
		t.Fatalf("test database: %v", initErr)
	}
	if store == nil {
		if os.Getenv("KRSLAB_REQUIRE_DB") == "1" {
			t.Fatal("no database: DATABASE_URL is unset (or pgtest.Main is not called) and KRSLAB_REQUIRE_DB=1")
		}
		t.Skip("no database: set DATABASE_URL or run make test")
	}
	return store
}

// URL returns the connection URL of the package's database (after Store has been called).
func URL(t testing.TB) string {
	Store(t)
	return dbURL
}
