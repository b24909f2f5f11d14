package main

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/experiment/postgres/pgtest"
)

// TestImportRejectsNeutraliseFormulas: the rejects file of `krslab import --skip-bad` is
// the one CSV the service writes that carries lines as they came, tabs and carriage
// returns included; a cell that would start a spreadsheet formula gets a single quote.
func TestImportRejectsNeutraliseFormulas(t *testing.T) {
	svc := experiment.NewService(pgtest.Store(t))
	ctx := context.Background()
	if _, err := svc.CreateExperiment(ctx, experiment.Experiment{Key: "cli-rejects", Arms: []experiment.Arm{
		{Key: "control", Weight: 1, Control: true}, {Key: "letter", Weight: 1}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Start(ctx, "cli-rejects"); err != nil {
		t.Fatal(err)
	}
	in := writeFile(t, "a.csv", "customer_id,assigned_at\n"+
		"ok-1,\n"+
		"\"\tfoo\",\n"+ // not printable: a bad id
		"\"\rfoo\",\n"+
		"\"=HYPERLINK(\"\"http://x\"\")\",yesterday\n"+ // a bad timestamp
		"+1,-2+3\n"+
		"@SUM(A1),\n"+ // good
		"-5,soon\n")
	rejects := filepath.Join(t.TempDir(), "rejects.csv")
	if _, _, err := runCLI(t, "import", "assignments", "--experiment", "cli-rejects", in, "--skip-bad", "--rejects", rejects); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(rejects)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var got [][]string
	for _, row := range rows[1:] {
		got = append(got, row[:2])
	}
	want := [][]string{{"'\tfoo", ""}, {"'\rfoo", ""}, {`'=HYPERLINK("http://x")`, "yesterday"}, {"'+1", "'-2+3"}, {"-5", "soon"}}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("rejects %q, want %q", got, want)
	}
}
