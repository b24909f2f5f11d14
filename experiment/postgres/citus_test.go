package postgres_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/krslab/krslab/experiment/postgres/pgtest"
)

// TestCitusDistributionOrder keeps the order of migrations/citus/distribute.sql right, as
// TestCitusDistributionCoversTheSchema keeps its tables: Citus refuses to distribute a
// table with triggers of its own unless citus.enable_unsafe_triggers is on by then, and a
// SET LOCAL holds only inside the transaction, from the statement on. The tables with
// triggers are read from the migrated schema, not listed here.
func TestCitusDistributionOrder(t *testing.T) {
	s := pgtest.Store(t)
	raw, err := os.ReadFile("../../migrations/citus/distribute.sql")
	if err != nil {
		t.Fatal(err)
	}
	statements := sqlStatements(string(raw))
	at := func(re string) int {
		return slices.IndexFunc(statements, regexp.MustCompile(`(?is)^`+re+`$`).MatchString)
	}
	begin, commit := at(`BEGIN`), at(`COMMIT`)
	unsafe := at(`SET LOCAL citus\.enable_unsafe_triggers\s*=\s*(on|true)`)
	if begin < 0 || commit != len(statements)-1 || unsafe < begin {
		t.Errorf("the script must be BEGIN, SET LOCAL citus.enable_unsafe_triggers = on, ..., COMMIT (BEGIN at %d, SET LOCAL at %d, COMMIT at %d of %d statements)",
			begin, unsafe, commit, len(statements))
	}
	var triggered []string
	if err := s.DB().Select(&triggered, `SELECT DISTINCT tgrelid::regclass::text FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1`); err != nil {
		t.Fatal(err)
	}
	if len(triggered) == 0 {
		t.Fatal("no table has triggers: the order check checks nothing")
	}
	for _, table := range triggered {
		moved := at(`SELECT create_(distributed|reference)_table\('` + regexp.QuoteMeta(table) + `'.*\)`)
		if moved < 0 {
			continue // a local table; TestCitusDistributionCoversTheSchema checks that it may be
		}
		if moved < unsafe {
			t.Errorf("table %s has triggers and is distributed (statement %d) before citus.enable_unsafe_triggers is on (statement %d)",
				table, moved, unsafe)
		}
	}
}

// sqlStatements splits a script without string literals that hold ";" or "--" into its
// statements, comments and surrounding space removed.
func sqlStatements(script string) []string {
	var b strings.Builder
	for line := range strings.Lines(script) {
		if i := strings.Index(line, "--"); i >= 0 {
			line = line[:i] + "\n"
		}
		b.WriteString(line)
	}
	var out []string
	for st := range strings.SplitSeq(b.String(), ";") {
		if st = strings.TrimSpace(st); st != "" {
			out = append(out, st)
		}
	}
	return out
}
