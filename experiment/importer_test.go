package experiment_test

import (
	"bytes"
	"context"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/krslab/krslab/experiment"
)

// importStore serves one running experiment and the outcomes; the rest of the Store is
// not needed by the importer.
type importStore struct {
	experiment.Store
	e experiment.Experiment
}

func (s importStore) Experiment(_ context.Context, key string) (experiment.Experiment, error) {
	if key != s.e.Key {
		return experiment.Experiment{}, experiment.Errorf(experiment.NotFound, "no %q", key)
	}
	return s.e, nil
}

func (s importStore) Outcomes(context.Context) ([]experiment.Outcome, error) {
	lo, hi := 1.0, 7.0
	nlo, nhi, top, bottom := 0.0, 10.0, 9.0, 6.0
	var out []experiment.Outcome
	for _, k := range []string{"satisfaction", "trust", "love", "involvement", "choice_products", "choice_channels", "fairness", "influence", "ces"} {
		out = append(out, experiment.Outcome{Key: k, Kind: experiment.Scale, Min: &lo, Max: &hi})
	}
	out = append(out,
		experiment.Outcome{Key: "nps", Kind: experiment.Net, Min: &nlo, Max: &nhi, TopMin: &top, BottomMax: &bottom},
		experiment.Outcome{Key: "krs", Kind: experiment.Composite, Components: []string{"satisfaction", "trust", "love"}},
		experiment.Outcome{Key: "freedom_of_choice", Kind: experiment.Composite, Components: []string{"choice_products", "choice_channels"}})
	return out, nil
}

// stagingStore keeps what the importer stages and reports its problems as bad lines.
type stagingStore struct {
	responses   []experiment.ResponseLine
	assignments []experiment.AssignmentLine
}

func (s *stagingStore) ImportResponses(_ context.Context, _ experiment.Experiment, fill func(func(experiment.ResponseLine) error) error, opt experiment.BulkOptions) (experiment.ImportResult, error) {
	var res experiment.ImportResult
	err := fill(func(l experiment.ResponseLine) error {
		s.responses = append(s.responses, l)
		res.Lines++
		if l.Problem != "" && opt.OnBad != nil {
			res.Rejected++
			return opt.OnBad(experiment.BadLine{Line: l.Line, Reason: l.Problem})
		}
		return nil
	})
	return res, err
}

func (s *stagingStore) ImportAssignments(_ context.Context, _ experiment.Experiment, fill func(func(experiment.AssignmentLine) error) error, _ experiment.BulkOptions) (experiment.ImportResult, error) {
	return experiment.ImportResult{}, fill(func(l experiment.AssignmentLine) error {
		s.assignments = append(s.assignments, l)
		return nil
	})
}

func (s *stagingStore) ImportCovariates(context.Context, experiment.Experiment, func(func(experiment.CovariateLine) error) error, experiment.BulkOptions) (experiment.ImportResult, error) {
	return experiment.ImportResult{}, nil
}

func newTestImporter(t *testing.T, status experiment.Status) (*experiment.Importer, *stagingStore) {
	t.Helper()
	e := experiment.Experiment{Key: "exp", Status: status, Arms: []experiment.Arm{
		{Key: "control", Weight: 1, Control: true}, {Key: "card", Weight: 3}}}
	e.ApplyDefaults()
	svc := experiment.NewService(importStore{e: e})
	svc.Now = func() time.Time { return time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC) }
	bulk := &stagingStore{}
	return experiment.NewImporter(svc, bulk), bulk
}

func source(s string) experiment.ImportSource {
	return func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(s)), nil }
}

func TestImporterStagesResponsesAsTheAPIReadsThem(t *testing.T) {
	im, bulk := newTestImporter(t, experiment.Running)
	file := "\ufeffresponse_id, customer_id ,answered_at,trust,nps,krs,happiness\n" +
		"r1,c1,2026-03-01T10:00:00.5+01:00, 5 ,10,,\n" + // 2: good
		"r2,c1,2026-03-01T10:00:00Z,,,,\n" + // 3: no answer
		"r3,c1,2026-03-01T10:00:00Z,5,,80,\n" + // 4: a composite
		"r4,c1,2026-03-01T10:00:00Z,5,,,3\n" + // 5: not measured
		"r5,c1,2026-03-12T10:00:00Z,x,,,\n" + // 6: in the future, not a number
		"r6,c1\n" // 7: too few columns
	var rejects bytes.Buffer
	res, err := im.ImportResponses(context.Background(), "exp", source(file), experiment.ImportOptions{SkipBad: true, Rejects: &rejects})
	if err != nil {
		t.Fatal(err)
	}
	if res.Lines != 6 || res.Rejected != 5 || res.Kind != "responses" {
		t.Errorf("result %+v", res)
	}
	good := bulk.responses[0]
	want := experiment.Response{ResponseID: "r1", CustomerID: "c1", AnsweredAt: time.Date(2026, 3, 1, 9, 0, 0, 5e8, time.UTC),
		Answers: map[string]float64{"trust": 5, "nps": 10}}
	if good.Line != 2 || good.Problem != "" || good.Hash != want.ContentHash() || !good.AnsweredAt.Equal(want.AnsweredAt) ||
		good.AnsweredAt.Location() != time.UTC || good.ResponseID != "r1" || good.CustomerID != "c1" ||
		!slices.Equal(good.Keys, []string{"nps", "trust"}) || !slices.Equal(good.Values, []float64{10, 5}) ||
		good.Arm != experiment.AssignArm(im.Service.Store.(importStore).e.Salt, "c1", im.Service.Store.(importStore).e.Arms) {
		t.Errorf("good line staged as %+v", good)
	}
	problems := map[int]string{3: "answers: at least one answer is required", 4: "answers.krs: krs is a composite",
		5: `answers.happiness: outcome "happiness" is not measured`, 6: `answers.trust: "x" is not a number; answered_at: lies more than a day in the future`,
		7: "has 2 columns, the header has 7"}
	for _, l := range bulk.responses[1:] {
		if !strings.Contains(l.Problem, problems[l.Line]) {
			t.Errorf("line %d: %q, want %q", l.Line, l.Problem, problems[l.Line])
		}
	}
	lines := strings.Split(strings.TrimSpace(rejects.String()), "\n")
	if len(lines) != 6 || !strings.HasSuffix(lines[0], ",happiness,reason") ||
		!strings.HasPrefix(lines[5], "r6,c1,") {
		t.Errorf("rejects:\n%s", rejects.String())
	}
}

func TestImporterRefusesBadFiles(t *testing.T) {
	im, _ := newTestImporter(t, experiment.Running)
	ctx := context.Background()
	for name, file := range map[string]string{
		"empty":          "",
		"wrong header":   "id,customer_id,answered_at,trust\n",
		"no outcomes":    "response_id,customer_id,answered_at\n",
		"twice":          "response_id,customer_id,answered_at,trust,trust\n",
		"stray quote":    "response_id,customer_id,answered_at,trust\nr\"1,c1,2026-03-01T10:00:00Z,5\n",
		"unclosed quote": "response_id,customer_id,answered_at,trust\n\"r1,c1,2026-03-01T10:00:00Z,5\n",
	} {
		if _, err := im.ImportResponses(ctx, "exp", source(file), experiment.ImportOptions{}); experiment.ErrorCode(err) != experiment.Invalid {
			t.Errorf("%s: %v", name, err)
		}
	}
	stopped, _ := newTestImporter(t, experiment.Stopped)
	if _, err := stopped.ImportAssignments(ctx, "exp", source("customer_id\nc1\n"), experiment.ImportOptions{}); experiment.ErrorCode(err) != experiment.Conflict {
		t.Errorf("assignments to a stopped experiment: %v", err)
	}
	if _, err := stopped.ImportResponses(ctx, "exp", source("response_id,customer_id,answered_at,trust\n"), experiment.ImportOptions{}); err != nil {
		t.Errorf("responses to a stopped experiment: %v", err)
	}
}

func TestImporterAssignsByTheHashRule(t *testing.T) {
	im, bulk := newTestImporter(t, experiment.Running)
	file := "customer_id,assigned_at\nc1,\nc2,2026-03-01T10:00:00+01:00\nc3,2027-01-01T00:00:00Z\n"
	if _, err := im.ImportAssignments(context.Background(), "exp", source(file), experiment.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	e, _ := importStore{e: experiment.Experiment{Key: "exp"}}.Experiment(context.Background(), "exp")
	e.Arms = []experiment.Arm{{Key: "control", Weight: 1, Control: true}, {Key: "card", Weight: 3}}
	for _, l := range bulk.assignments[:2] {
		id := l.Assignment.CustomerID
		if l.Problem != "" || l.Assignment.Arm != experiment.AssignArm("exp", id, e.Arms) {
			t.Errorf("%+v", l)
		}
	}
	if at := bulk.assignments[1].Assignment.AssignedAt; !at.Equal(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("assigned_at %v", at)
	}
	if bulk.assignments[2].Problem != "assigned_at: lies more than a day in the future" {
		t.Errorf("future assignment: %+v", bulk.assignments[2])
	}
}
