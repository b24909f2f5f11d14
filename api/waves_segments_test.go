package api_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/stats"
)

// storedIDs are the ids postWavesCase gave the case's customers, in the case's order: each
// arm's customers take, in order, the ids the hash rule sends to that arm, which sort in
// the order they were taken. Every customer's assignment time is checked against the case.
func storedIDs(t *testing.T, e *env, key string, c randomWavesCase) []string {
	t.Helper()
	byArm := map[string][]experiment.Assignment{}
	if err := e.svc.EachAssignment(context.Background(), key, func(a experiment.Assignment) error {
		byArm[a.Arm] = append(byArm[a.Arm], a)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, as := range byArm {
		slices.SortFunc(as, func(a, b experiment.Assignment) int { return strings.Compare(a.CustomerID, b.CustomerID) })
	}
	used := map[string]int{}
	ids := make([]string, len(c.Customers))
	for i, cu := range c.Customers {
		as := byArm[cu.Arm]
		if used[cu.Arm] >= len(as) {
			t.Fatalf("customer %d: no stored assignment left in arm %s", i, cu.Arm)
		}
		a := as[used[cu.Arm]]
		used[cu.Arm]++
		if a.AssignedAt.Unix() != cu.AssignedAt {
			t.Fatalf("customer %d: stored %s assigned at %s, the case's at %s", i, a.CustomerID, a.AssignedAt, time.Unix(cu.AssignedAt, 0).UTC())
		}
		ids[i] = a.CustomerID
	}
	return ids
}

// channelOf is the segment of the case's i-th customer: phone, email, or none (the
// attribute not given).
func channelOf(i int) string {
	switch i % 7 {
	case 0, 1, 2:
		return "phone"
	case 3, 4, 5:
		return "email"
	}
	return ""
}

// TestWaveSegmentsAgreeWithEachSegmentsCustomers generates survey-wave experiments
// (generateWavesCase) whose customers carry a channel attribute (phone, email, or none)
// and checks /results?segment=channel&wave=KEY for every wave against the analysis,
// computed here, of each segment's customers alone, as /results?wave=KEY of an experiment
// holding only them would have it (expectedWave: the wave's eligible customers and those of
// them with a response in the wave, the latest answer within the wave): every cell's
// traffic, srm, response_check, per-arm statistics and comparisons (effect, bounds,
// ordinal, sequential), with p_adjusted, significant and verdict over the family of every
// cell's comparisons in the wave (family_size), and Cochran's Q per outcome and treatment.
// The answer matches the SegmentResults schema and names the wave; results.csv and the
// forest plot take the wave too; once time alone makes more customers eligible, the cells
// follow (their traffic adds up to /results?wave=).
func TestWaveSegmentsAgreeWithEachSegmentsCustomers(t *testing.T) {
	e := newEnv(t)
	doc := loadOpenAPI(t)
	for _, seed := range []uint64{31, 32, 33} {
		gen := generateWavesCase(seed)
		t.Run(fmt.Sprintf("seed_%d", seed), func(t *testing.T) {
			sub := *e
			sub.t = t
			key, local := postRandomWavesCase(t, &sub, gen, fmt.Sprintf("segments-%d", seed))
			ids := storedIDs(t, &sub, key, gen)
			var customers []map[string]any
			for i, id := range ids {
				if ch := channelOf(i); ch != "" {
					customers = append(customers, map[string]any{"customer_id": id, "attributes": map[string]any{"channel": ch}})
				}
			}
			sub.must(http.StatusOK, ingest, "POST", "/v1/customers:batch", map[string]any{"customers": customers})
			values := []string{"email", "phone", experiment.NoSegment}
			cellOf := func(v string) randomWavesCase {
				c := gen
				c.Customers = nil
				for i, cu := range gen.Customers {
					ch := channelOf(i)
					if ch == v || ch == "" && v == experiment.NoSegment {
						c.Customers = append(c.Customers, cu)
					}
				}
				return c
			}
			checked := 0
			for _, w := range gen.Waves {
				// The analysis of each segment's customers alone, then the family of all.
				wants := make([]stats.Analysis, len(values))
				traffic := make([]map[string][2]int64, len(values))
				for j, v := range values {
					wants[j], traffic[j] = cellOf(v).expectedWave(w, local)
				}
				type at struct {
					cell, outcome int
					arm           string
				}
				var where []at
				var family []stats.FamilyMember
				var cs []stats.Comparison
				for j, a := range wants {
					for k, o := range a.Outcomes {
						for _, arm := range gen.arms()[1:] {
							if c, ok := o.Comparisons[arm]; ok {
								where = append(where, at{j, k, arm})
								cs = append(cs, c)
							}
						}
					}
				}
				for k, wh := range where {
					family = append(family, stats.FamilyMember{C: &cs[k], HigherIsBetter: gen.Outcomes[wh.outcome].statsOutcome("").HigherIsBetter})
				}
				size := stats.AdjustFamily(family, gen.Correction, gen.Alpha)
				for k, wh := range where {
					wants[wh.cell].Outcomes[wh.outcome].Comparisons[wh.arm] = cs[k]
				}

				r := sub.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+"/results?segment=channel&wave="+w.Key, nil)
				var raw any
				r.json(t, &raw)
				validateSchema(t, doc, "SegmentResults", raw)
				var got struct {
					Wave       struct{ Key string } `json:"wave"`
					FamilySize int                  `json:"family_size"`
					Cells      []struct {
						Value         string                    `json:"value"`
						SRM           map[string]any            `json:"srm"`
						ResponseCheck map[string]any            `json:"response_check"`
						Arms          map[string]map[string]any `json:"arms"`
						Outcomes      []struct {
							Key         string         `json:"key"`
							Arms        map[string]any `json:"arms"`
							Comparisons map[string]any `json:"comparisons"`
						} `json:"outcomes"`
					} `json:"cells"`
					Heterogeneity []map[string]any `json:"heterogeneity"`
				}
				r.json(t, &got)
				if got.Wave.Key != w.Key || got.FamilySize != size || len(got.Cells) != len(values) {
					t.Fatalf("%s: wave %q, family %d (want %d), %d cells", w.Key, got.Wave.Key, got.FamilySize, size, len(got.Cells))
				}
				for j, cell := range got.Cells {
					id := w.Key + " " + cell.Value
					if cell.Value != values[j] {
						t.Fatalf("%s: cell %d is %q, want %q", w.Key, j, cell.Value, values[j])
					}
					want := asJSONValue(t, wants[j]).(map[string]any)
					checked += compareJSON(t, id+".srm", want["srm"], any(cell.SRM))
					// (The cells have no response check in this API; the traffic says it.)
					for arm, n := range traffic[j] {
						checked += compareJSON(t, id+".arms."+arm, map[string]any{"assigned": float64(n[0]), "responded": float64(n[1])}, any(cell.Arms[arm]))
					}
					for k, o := range want["outcomes"].([]any) {
						o := o.(map[string]any)
						g := cell.Outcomes[k]
						if g.Key != o["key"] {
							t.Fatalf("%s: outcome %d is %s, want %s", id, k, g.Key, o["key"])
						}
						checked += compareJSON(t, id+"."+g.Key+".arms", o["arms"], any(g.Arms))
						checked += compareJSON(t, id+"."+g.Key+".comparisons", o["comparisons"], any(g.Comparisons))
					}
				}
				// Cochran's Q per outcome and treatment, over the cells' deciding effects.
				h := 0
				for k, o := range gen.Outcomes {
					for _, arm := range gen.arms()[1:] {
						var effects, ses []float64
						for j := range values {
							c := wants[j].Outcomes[k].Comparisons[arm]
							if c.Deciding == nil {
								effects, ses = append(effects, math.NaN()), append(ses, math.NaN())
							} else {
								effects, ses = append(effects, c.Deciding.Diff), append(ses, c.Deciding.SE)
							}
						}
						q := stats.CochranQ(effects, ses, gen.Alpha)
						want := asJSONValue(t, map[string]any{"outcome": local[o.Key], "arm": arm, "segments": q.K, "q": stats.Float(q.Q),
							"df": q.DF, "p_value": stats.Float(q.PValue), "i2": stats.Float(q.I2), "pooled_diff": stats.Float(q.Pooled),
							"heterogeneous": q.Heterogeneous})
						checked += compareJSON(t, fmt.Sprintf("%s heterogeneity %s/%s", w.Key, o.Key, arm), want, any(got.Heterogeneity[h]))
						h++
					}
				}

				// results.csv of the segments of the wave: the JSON's cells, row by row.
				r = sub.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+"/results.csv?segment=channel&wave="+w.Key, nil)
				if cd := r.Header.Get("Content-Disposition"); cd != `attachment; filename="`+key+`-`+w.Key+`-results-channel.csv"` {
					t.Errorf("results.csv: Content-Disposition %s", cd)
				}
				rows, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				for _, cell := range got.Cells {
					for _, o := range cell.Outcomes {
						n += len(o.Arms)
					}
				}
				if len(rows)-1 != n {
					t.Errorf("results.csv: %d rows, the cells have %d", len(rows)-1, n)
				}
				for _, row := range rows[1:] {
					j := slices.Index(values, row[0])
					if j < 0 {
						t.Fatalf("results.csv: segment %q", row[0])
					}
					for _, o := range got.Cells[j].Outcomes {
						if o.Key == row[1] {
							checkCell(t, fmt.Sprintf("results.csv %s %s %s n", row[0], row[1], row[3]), row[4], o.Arms[row[3]].(map[string]any)["n"])
							checked++
						}
					}
				}
			}

			// The forest plot of the segments of a wave, in both languages.
			for _, path := range []string{"segments.png?segment=channel&wave=" + gen.Waves[0].Key, "segments.svg?segment=channel&lang=nl&wave=" + gen.Waves[0].Key} {
				r := sub.call(analyst, "GET", "/v1/experiments/"+key+"/plots/"+path, nil)
				if r.Status != http.StatusOK || len(r.Body) < 1000 {
					t.Errorf("plots/%s: %d %.200s", path, r.Status, r.Body)
				}
				if dir := os.Getenv("KRSLAB_PLOT_DIR"); dir != "" {
					os.WriteFile(filepath.Join(dir, fmt.Sprintf("wave-%d-segments.%s", seed, path[len("segments."):len("segments.")+3])), r.Body, 0o644)
				}
			}
			for _, path := range []string{"/results?segment=channel&wave=year_9", "/plots/segments.png?segment=channel&wave=year_9"} {
				r := sub.call(analyst, "GET", "/v1/experiments/"+key+path, nil)
				if _, d := r.errorBody(t); r.Status != http.StatusUnprocessableEntity || d[0].Field != "wave" {
					t.Errorf("%s: %d %s", path, r.Status, r.Body)
				}
			}

			// Time alone makes customers eligible in the last wave: the cells follow.
			last := gen.Waves[len(gen.Waves)-1]
			before := e.svc.Now()
			defer func() { e.svc.Now = func() time.Time { return before } }()
			var assigned []int64
			for _, later := range []time.Duration{0, time.Duration(last.FromDay+1) * 24 * time.Hour} {
				e.svc.Now = func() time.Time { return before.Add(later) }
				var seg struct {
					Cells []struct {
						Arms map[string]struct {
							Assigned  int64 `json:"assigned"`
							Responded int64 `json:"responded"`
						} `json:"arms"`
					} `json:"cells"`
				}
				sub.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+"/results?segment=channel&wave="+last.Key, nil).json(t, &seg)
				var whole struct {
					Arms map[string]struct {
						Assigned  int64 `json:"assigned"`
						Responded int64 `json:"responded"`
					} `json:"arms"`
				}
				sub.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+"/results?wave="+last.Key, nil).json(t, &whole)
				var total int64
				for arm, a := range whole.Arms {
					total += a.Assigned
					var n, m int64
					for _, c := range seg.Cells {
						n, m = n+c.Arms[arm].Assigned, m+c.Arms[arm].Responded
					}
					if n != a.Assigned || m != a.Responded {
						t.Errorf("%s %v later, %s: the cells count %d assigned and %d responded, /results?wave= %d and %d", last.Key, later, arm, n, m, a.Assigned, a.Responded)
					}
				}
				assigned = append(assigned, total)
			}
			if assigned[0] == assigned[1] {
				t.Errorf("fixture: nobody becomes eligible in %s (%d assigned)", last.Key, assigned[0])
			}
			t.Logf("%d values checked", checked)
		})
	}
}
