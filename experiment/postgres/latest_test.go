package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/experiment/postgres"
)

// TestRepeatWavesCostWhatTheirRowsCost surveys the same customers in waves, as
// relationship experiments do: a batch of first responses, a batch of repeat responses
// (some answered before the first ones, some with fewer answers, some customers twice),
// then an import of a third wave. Every wave keeps the latest-answer rule exactly, and a
// repeat wave costs about what a first wave costs: the upkeep recomputed each customer's
// responses with a plan that read them again for every response, which made a second
// wave of 2,000 customers take seconds where the first took a tenth of one. (The bound is
// loose, for a busy machine; the benchmark `krslab bench waves` gives the figures.)
func TestRepeatWavesCostWhatTheirRowsCost(t *testing.T) {
	postgres.LimitCopyChunk(700, t.Cleanup)
	f := newImportFixture(t, "repeat-waves")
	ctx := context.Background()
	const n = 2000
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("c%05d", i)
	}
	f.assign(t, ids...)
	base := mustTime(t, "2026-01-05T09:00:00Z")
	wave := func(w int) []experiment.Response {
		var rs []experiment.Response
		for i, id := range ids {
			at := base.Add(time.Duration(w)*30*24*time.Hour + time.Duration(i)*time.Second)
			answers := map[string]float64{"trust": float64(1 + (i+w)%7), "satisfaction": float64(1 + (i*3+w)%7),
				"love": float64(1 + (i*5+w)%7), "nps": float64((i + 2*w) % 11)}
			switch {
			case w > 0 && i%10 == 1: // answered before the first wave, arrives after it
				at = base.Add(-time.Duration(i) * time.Second)
			case w > 0 && i%10 == 2: // fewer answers: the first wave's love and nps still count
				delete(answers, "love")
				delete(answers, "nps")
			}
			rs = append(rs, experiment.Response{ResponseID: fmt.Sprintf("w%d-%s", w, id), CustomerID: id, AnsweredAt: at, Answers: answers})
			if w > 0 && i%10 == 3 { // twice in the wave: the later one counts
				rs = append(rs, experiment.Response{ResponseID: fmt.Sprintf("w%d-%s-again", w, id), CustomerID: id,
					AnsweredAt: at.Add(time.Minute), Answers: map[string]float64{"trust": 7}})
			}
		}
		return rs
	}
	record := func(w int) time.Duration {
		t.Helper()
		start := time.Now()
		if _, err := f.svc.RecordResponses(ctx, f.e.Key, wave(w), true); err != nil {
			t.Fatal(err)
		}
		return time.Since(start)
	}
	first := record(0)
	checkLatestAnswerFlags(t, f.e.ID)
	second := record(1)
	checkLatestAnswerFlags(t, f.e.ID)
	if limit := 10*first + 2*time.Second; second > limit {
		t.Errorf("the second wave took %v, the first %v: more than %v", second, first, limit)
	}

	// The third wave by the bulk import, in several chunks.
	var b strings.Builder
	b.WriteString("response_id,customer_id,answered_at,trust,satisfaction,love,nps\n")
	for _, r := range wave(2) {
		cell := func(k string) string {
			if v, ok := r.Answers[k]; ok {
				return fmt.Sprint(v)
			}
			return ""
		}
		fmt.Fprintf(&b, "%s,%s,%s,%s,%s,%s,%s\n", r.ResponseID, r.CustomerID, r.AnsweredAt.Format(time.RFC3339),
			cell("trust"), cell("satisfaction"), cell("love"), cell("nps"))
	}
	start := time.Now()
	res, err := f.im.ImportResponses(ctx, f.e.Key, text(b.String()), experiment.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	third := time.Since(start)
	checkLatestAnswerFlags(t, f.e.ID)
	if want := int64(len(wave(2))); res.Stored != want {
		t.Errorf("the import stored %d responses, want %d", res.Stored, want)
	}
	if limit := 10*first + 2*time.Second; third > limit {
		t.Errorf("the third wave took %v, the first %v: more than %v", third, first, limit)
	}
	if n := f.count(t, `SELECT count(*) FROM (SELECT customer_id FROM responses WHERE experiment_id = $1
		GROUP BY customer_id HAVING bool_and(first_response)) c`); n != 0 {
		t.Errorf("%d customers with two responses have no repeat", n)
	}
}
