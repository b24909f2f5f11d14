package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/krslab/krslab/experiment/postgres"
	"github.com/krslab/krslab/experiment/postgres/pgtest"
)

// TestCreateDatabase: a database of its own is created beside the given one, usable, and
// gone after its drop; names that would need quoting and key=value strings are refused.
func TestCreateDatabase(t *testing.T) {
	ctx := context.Background()
	base := pgtest.URL(t)
	for _, name := range []string{"", "Upper", "a-b", "x; DROP DATABASE y", strings.Repeat("a", 64)} {
		if _, _, err := postgres.CreateDatabase(ctx, base, name); err == nil || !strings.Contains(err.Error(), "database name") {
			t.Errorf("name %q: %v, want an error naming the database name", name, err)
		}
	}
	if _, _, err := postgres.CreateDatabase(ctx, "host=localhost dbname=x", "krslab_test_kv"); err == nil || !strings.Contains(err.Error(), "postgres:// URL") {
		t.Errorf("key=value string: %v, want an error asking for a URL", err)
	}
	want := fmt.Sprintf("krslab_test_created_%d", time.Now().UnixNano())
	url, drop, err := postgres.CreateDatabase(ctx, base, want)
	if err != nil {
		t.Fatal(err)
	}
	s, err := postgres.Open(ctx, url, postgres.Options{})
	if err != nil {
		drop(ctx)
		t.Fatal(err)
	}
	var name string
	if err := s.DB().Get(&name, `SELECT current_database()`); err != nil || name != want {
		t.Errorf("connected to %q (%v), want %s", name, err, want)
	}
	// The drop ends the connections the database still has.
	if err := drop(ctx); err != nil {
		t.Fatal(err)
	}
	s.Close()
	var left int
	if err := pgtest.Store(t).DB().Get(&left, `SELECT count(*) FROM pg_database WHERE datname = $1`, want); err != nil || left != 0 {
		t.Errorf("%d databases %s after the drop (%v)", left, want, err)
	}
}
