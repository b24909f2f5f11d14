package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	neturl "net/url"
	"regexp"
	"time"
)

// databaseName is what CreateDatabase accepts as a name: an identifier that needs no quoting.
var databaseName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// CreateDatabase creates the empty database name on the server of base, a postgres:// URL,
// and returns the URL of the new database and a function that drops it, ending whatever
// connections it still has. Benchmarks and tests use it for a database of their own beside
// the one they were given, so that they neither read nor leave rows there. It needs the
// CREATEDB privilege; migrate the new database to use it as a store.
func CreateDatabase(ctx context.Context, base, name string) (string, func(context.Context) error, error) {
	if !databaseName.MatchString(name) {
		return "", nil, fmt.Errorf("database name %q: lower-case letters, digits and _ only, at most 63", name)
	}
	u, err := neturl.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", nil, errors.New("DATABASE_URL: a database of its own needs a postgres:// URL, not a key=value connection string")
	}
	admin, err := sql.Open("postgres", base)
	if err != nil {
		return "", nil, err
	}
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("create database %s (needs the CREATEDB privilege): %w", name, err)
	}
	drop := func(ctx context.Context) error {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("drop database %s: %w", name, err)
		}
		return nil
	}
	u.Path = "/" + name
	return u.String(), drop, nil
}
