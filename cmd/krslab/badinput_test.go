package main

import (
	"context"
	"strings"
	"testing"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/experiment/postgres/pgtest"
)

// TestImportCommandRefusesBadBytes: `krslab import` refuses a NUL or bytes that are not
// UTF-8 in an id, a cell or the header, naming the line, and stores nothing.
func TestImportCommandRefusesBadBytes(t *testing.T) {
	svc := experiment.NewService(pgtest.Store(t))
	ctx := context.Background()
	if _, err := svc.CreateExperiment(ctx, experiment.Experiment{Key: "cli-bad-bytes", Arms: []experiment.Arm{
		{Key: "control", Weight: 1, Control: true}, {Key: "letter", Weight: 1}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Start(ctx, "cli-bad-bytes"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AssignBatch(ctx, "cli-bad-bytes", []string{"c1", "c2"}); err != nil {
		t.Fatal(err)
	}
	header := "response_id,customer_id,answered_at,trust,nps\n"
	for _, c := range []struct{ name, file, want string }{
		{"NUL in a customer id", header + "r1,c1,2026-03-01T10:00:00Z,5,9\nr2,c\x002,2026-03-01T10:00:00Z,5,9\n", "line 3: customer_id: must contain printable characters only"},
		{"invalid UTF-8 in a response id", header + "r\xff1,c1,2026-03-01T10:00:00Z,5,9\n", "line 2: response_id: must be valid UTF-8"},
		{"invalid UTF-8 in a cell", header + "r1,c1,2026-03-01T10:00:00Z,5\xfe,9\n", "line 2: answers.trust"},
		{"invalid UTF-8 in the header", "response_id,customer_id,answered_at,trust,n\xffps\nr1,c1,2026-03-01T10:00:00Z,5,9\n", "must be valid UTF-8"},
		{"NUL in the header", "response_id,customer_id,answered_at,tr\x00ust\nr1,c1,2026-03-01T10:00:00Z,5\n", "must not contain NUL"},
	} {
		_, errOut, err := runCLI(t, "import", "responses", "--experiment", "cli-bad-bytes", writeFile(t, "bad.csv", c.file))
		if err == nil || !strings.Contains(err.Error()+errOut, c.want) {
			t.Errorf("%s: err %v, stderr %q, want %q", c.name, err, errOut, c.want)
		}
	}
	res, err := svc.Results(ctx, "cli-bad-bytes")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range res.Outcomes {
		for arm, st := range o.Arms {
			if st.N != 0 {
				t.Errorf("%s in arm %s: %d answers stored", o.Outcome.Key, arm, st.N)
			}
		}
	}
}
