package api_test

import (
	"encoding/csv"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/krslab/krslab/stats"
)

// segmentedResults is the part of /results?segment= the tests read.
type segmentedResults struct {
	Segment    string  `json:"segment"`
	Alpha      float64 `json:"alpha"`
	Correction string  `json:"correction"`
	FamilySize int     `json:"family_size"`
	Cells      []struct {
		Value string `json:"value"`
		Arms  map[string]struct {
			Assigned  int64 `json:"assigned"`
			Responded int64 `json:"responded"`
		} `json:"arms"`
		Outcomes []struct {
			Key         string                       `json:"key"`
			Arms        map[string]struct{ N int64 } `json:"arms"`
			Comparisons map[string]struct {
				Diff        *float64 `json:"diff"`
				PValue      *float64 `json:"p_value"`
				PAdjusted   *float64 `json:"p_adjusted"`
				Significant bool     `json:"significant"`
				Verdict     string   `json:"verdict"`
			} `json:"comparisons"`
		} `json:"outcomes"`
	} `json:"cells"`
	Heterogeneity []struct {
		Outcome       string   `json:"outcome"`
		Arm           string   `json:"arm"`
		Segments      int      `json:"segments"`
		Q             *float64 `json:"q"`
		DF            int      `json:"df"`
		PValue        *float64 `json:"p_value"`
		I2            *float64 `json:"i2"`
		Heterogeneous bool     `json:"heterogeneous"`
	} `json:"heterogeneity"`
	Warnings []string `json:"warnings"`
}

// simulateChannels runs an experiment of n customers whose channel is phone, email, chat
// or unknown. The call-back raises trust by one point for phone customers only; nothing
// else has an effect. About 80% answer.
func simulateChannels(t *testing.T, e *env, key string, n int) {
	t.Helper()
	e.createRunning(key, map[string]any{"arms": threeArms(), "outcomes": []string{"trust", "satisfaction", "nps"},
		"primary_outcome": "trust"})
	rng := rand.New(rand.NewPCG(7, 11))
	channels := []string{"phone", "phone", "email", "chat", ""} // 40% phone, 20% unknown
	var ids []string
	var customers []map[string]any
	channel := map[string]string{}
	for i := range n {
		id := fmt.Sprintf("seg-%s-%04d", key, i)
		ids = append(ids, id)
		c := channels[rng.IntN(len(channels))]
		channel[id] = c
		if c != "" {
			customers = append(customers, map[string]any{"customer_id": id, "attributes": map[string]string{"channel": c, "tenure": []string{"new", "old"}[i%2]}})
		}
	}
	e.must(http.StatusOK, ingest, "POST", "/v1/customers:batch", map[string]any{"customers": customers})
	var assigned struct {
		Assignments []struct {
			CustomerID string `json:"customer_id"`
			Arm        string `json:"arm"`
		} `json:"assignments"`
	}
	e.must(http.StatusOK, ingest, "POST", "/v1/experiments/"+key+"/assignments:batch", map[string]any{"customer_ids": ids}).json(t, &assigned)
	var responses []map[string]any
	level := func(mean float64) int { return int(math.Max(1, math.Min(7, math.Round(mean+1.4*rng.NormFloat64())))) }
	for _, a := range assigned.Assignments {
		if rng.Float64() >= 0.8 {
			continue
		}
		trust := 4.3
		if a.Arm == "callback" && channel[a.CustomerID] == "phone" {
			trust += 1
		}
		responses = append(responses, map[string]any{"response_id": "r-" + a.CustomerID, "customer_id": a.CustomerID,
			"answered_at": "2026-03-02T09:00:00Z", "answers": map[string]any{
				"trust": level(trust), "satisfaction": level(4.8), "nps": rng.IntN(11)}})
	}
	e.must(http.StatusCreated, ingest, "POST", "/v1/experiments/"+key+"/responses:batch", map[string]any{"responses": responses})
}

// TestSegmentsFindTheCallBackHelpingPhoneCustomers is the acceptance case: split by
// channel, the call-back's trust effect shows in the phone segment only, heterogeneity is
// flagged for trust, and p-values are adjusted over every cell.
func TestSegmentsFindTheCallBackHelpingPhoneCustomers(t *testing.T) {
	e := newEnv(t)
	key := "segment-callback"
	simulateChannels(t, e, key, 2000)

	var res segmentedResults
	e.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+"/results?segment=channel", nil).json(t, &res)
	var values []string
	for _, c := range res.Cells {
		values = append(values, c.Value)
	}
	if fmt.Sprint(values) != "[chat email phone (none)]" || res.Segment != "channel" || res.Correction != "holm" {
		t.Fatalf("cells %v, segment %q, correction %q", values, res.Segment, res.Correction)
	}

	// The effect is in the phone cell, and only there.
	var assigned int64
	for _, cell := range res.Cells {
		for _, a := range cell.Arms {
			assigned += a.Assigned
		}
		for _, o := range cell.Outcomes {
			c := o.Comparisons["callback"]
			switch {
			case o.Key == "trust" && cell.Value == "phone":
				if c.Verdict != "better" || !c.Significant || *c.Diff < 0.6 {
					t.Errorf("phone: trust callback %s (diff %v, p_adj %v), want better", c.Verdict, *c.Diff, *c.PAdjusted)
				}
			case c.Significant:
				t.Errorf("%s: %s callback is %s (p_adj %v); only phone trust has an effect", cell.Value, o.Key, c.Verdict, *c.PAdjusted)
			}
		}
	}
	if assigned != 2000 {
		t.Errorf("the cells hold %d assigned customers, want 2000", assigned)
	}

	// Heterogeneity: flagged for the call-back on trust, not for satisfaction.
	for _, h := range res.Heterogeneity {
		want := h.Outcome == "trust" && h.Arm == "callback"
		if h.Heterogeneous != want {
			t.Errorf("heterogeneity %s/%s = %v (Q %v, p %v), want %v", h.Outcome, h.Arm, h.Heterogeneous, *h.Q, *h.PValue, want)
		}
		if h.Segments != 4 || h.DF != 3 {
			t.Errorf("heterogeneity %s/%s over %d segments, df %d; want 4, 3", h.Outcome, h.Arm, h.Segments, h.DF)
		}
		if want && (*h.PValue >= 0.01 || *h.I2 < 0.5) {
			t.Errorf("trust/callback: p %v, I² %v; want a clear difference", *h.PValue, *h.I2)
		}
	}
	if len(res.Heterogeneity) != 6 {
		t.Errorf("%d heterogeneity tests, want 3 outcomes x 2 treatments", len(res.Heterogeneity))
	}
	if len(res.Warnings) == 0 || !strings.Contains(res.Warnings[0], "callback on trust differs between channel segments") {
		t.Errorf("warnings %q", res.Warnings)
	}

	// One family over every cell: Holm over all p-values reproduces every p_adjusted,
	// which is never below the unadjusted p and, for the phone cell, above what a
	// correction within the cell alone would give.
	type member struct{ cell, outcome, arm string }
	var family []member
	var ps []float64
	perCell := map[string][]float64{}
	for _, cell := range res.Cells {
		for _, o := range cell.Outcomes {
			for _, arm := range []string{"callback", "letter"} {
				c := o.Comparisons[arm]
				if c.PValue == nil {
					continue
				}
				family = append(family, member{cell.Value, o.Key, arm})
				ps = append(ps, *c.PValue)
				perCell[cell.Value] = append(perCell[cell.Value], *c.PValue)
				if *c.PAdjusted < *c.PValue {
					t.Errorf("%s %s %s: p_adjusted %v < p %v", cell.Value, o.Key, arm, *c.PAdjusted, *c.PValue)
				}
				if c.Significant != (*c.PAdjusted < res.Alpha) {
					t.Errorf("%s %s %s: significant %v with p_adjusted %v", cell.Value, o.Key, arm, c.Significant, *c.PAdjusted)
				}
			}
		}
	}
	if res.FamilySize != len(family) || len(family) != 24 {
		t.Errorf("family_size %d, %d comparisons with a p-value; want 4 cells x 3 outcomes x 2 treatments", res.FamilySize, len(family))
	}
	adj := stats.HolmAdjust(ps)
	for i, m := range family {
		c := cellComparison(res, m.cell, m.outcome, m.arm)
		if math.Abs(*c.PAdjusted-adj[i]) > 1e-12*math.Max(adj[i], 1e-300) && math.Abs(*c.PAdjusted-adj[i]) > 1e-300 {
			t.Errorf("%v: p_adjusted %v, Holm over all cells %v", m, *c.PAdjusted, adj[i])
		}
	}
	phone := perCell["phone"]
	withinPhone := stats.HolmAdjust(phone)
	trust := cellComparison(res, "phone", "trust", "callback")
	i := slices.Index(phone, *trust.PValue)
	if !(*trust.PAdjusted > withinPhone[i]) {
		t.Errorf("phone trust: p_adjusted %v over all cells, %v within the cell: the family was not widened", *trust.PAdjusted, withinPhone[i])
	}

	// The whole-experiment results are unchanged by segments.
	var whole struct {
		Outcomes []struct{ Key string } `json:"outcomes"`
	}
	e.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+"/results", nil).json(t, &whole)
	if len(whole.Outcomes) != 3 {
		t.Errorf("/results without segment: %d outcomes", len(whole.Outcomes))
	}

	t.Run("csv", func(t *testing.T) {
		r := e.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+"/results.csv?segment=channel", nil)
		rows, err := csv.NewReader(strings.NewReader(string(r.Body))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(rows[0], ",") != "segment,outcome,kind,arm,n,mean,ci_low,ci_high,diff,diff_ci_low,diff_ci_high,p_value,p_adjusted,verdict,"+
			"method,se,sequential_p,bounds_lower,bounds_upper,bounds_ci_low,bounds_ci_high,odds_ratio" {
			t.Errorf("header %v", rows[0])
		}
		if len(rows) != 1+4*3*3 {
			t.Errorf("%d rows, want 4 cells x 3 outcomes x 3 arms", len(rows)-1)
		}
		found := false
		for _, row := range rows[1:] {
			if row[0] == "phone" && row[1] == "trust" && row[3] == "callback" {
				found = true
				p, err := strconv.ParseFloat(row[12], 64)
				if row[13] != "better" || err != nil || p != *trust.PAdjusted {
					t.Errorf("phone trust callback row %v", row)
				}
			}
		}
		if !found {
			t.Error("no phone/trust/callback row")
		}
		if !strings.Contains(r.Header.Get("Content-Disposition"), key+"-results-channel.csv") {
			t.Errorf("Content-Disposition %q", r.Header.Get("Content-Disposition"))
		}
		plain := e.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+"/results.csv", nil)
		if strings.HasPrefix(string(plain.Body), "segment,") {
			t.Error("results.csv without segment has a segment column")
		}
	})

	t.Run("plots", func(t *testing.T) {
		png := e.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+"/plots/segments.png?segment=channel&outcome=trust&width=900", nil)
		if png.Header.Get("Content-Type") != "image/png" || !strings.HasPrefix(string(png.Body), "\x89PNG") {
			t.Errorf("png: %s, %d bytes", png.Header.Get("Content-Type"), len(png.Body))
		}
		svg := e.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+"/plots/segments.svg?segment=channel&lang=nl", nil)
		if n := strings.Count(string(svg.Body), "Vertrouwen · Personal call-back"); n != 4 { // arms by their names
			t.Errorf("%d trust/callback rows, want one per segment", n)
		}
		for _, want := range []string{"<svg", "channel = phone", "channel = (none)", "Cochran"} {
			if !strings.Contains(string(svg.Body), want) {
				t.Errorf("svg lacks %q", want)
			}
		}
		r := e.call(analyst, "GET", "/v1/experiments/"+key+"/plots/segments.png?colour=red&width=10", nil)
		if code, d := r.errorBody(t); r.Status != http.StatusUnprocessableEntity || code != "invalid" || len(d) != 2 {
			t.Errorf("bad options: %d %s", r.Status, r.Body)
		}
		r = e.call(analyst, "GET", "/v1/experiments/"+key+"/plots/segments.png?segment=channel&outcome=love", nil)
		if _, d := r.errorBody(t); r.Status != http.StatusUnprocessableEntity || d[0].Field != "outcome" {
			t.Errorf("outcome not analysed: %d %s", r.Status, r.Body)
		}
		// The other plots are still served by plots/{file}.
		e.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+"/plots/effects.png", nil)
	})

	t.Run("bad segments", func(t *testing.T) {
		for q, field := range map[string]string{"segment=Channel": "segment", "segment=": "segment", "segment=colour": "segment", "segment=channel&lang=de": "lang"} {
			r := e.call(analyst, "GET", "/v1/experiments/"+key+"/results?"+q, nil)
			if _, d := r.errorBody(t); r.Status != http.StatusUnprocessableEntity || d[0].Field != field {
				t.Errorf("%s: %d %s", q, r.Status, r.Body)
			}
		}
		e.must(http.StatusNotFound, analyst, "GET", "/v1/experiments/nope/results?segment=channel", nil)
		e.must(http.StatusForbidden, ingest, "GET", "/v1/experiments/"+key+"/results.csv?segment=channel", nil)
	})
}

func cellComparison(res segmentedResults, cell, outcome, arm string) struct {
	Diff        *float64 `json:"diff"`
	PValue      *float64 `json:"p_value"`
	PAdjusted   *float64 `json:"p_adjusted"`
	Significant bool     `json:"significant"`
	Verdict     string   `json:"verdict"`
} {
	for _, c := range res.Cells {
		if c.Value != cell {
			continue
		}
		for _, o := range c.Outcomes {
			if o.Key == outcome {
				return o.Comparisons[arm]
			}
		}
	}
	panic("no comparison " + cell + "/" + outcome + "/" + arm)
}

func TestCustomerAttributesBatch(t *testing.T) {
	e := newEnv(t)
	r := e.call(ingest, "POST", "/v1/customers:batch", `{"customers":[
		{"customer_id":"attr-1","attributes":{"channel":"phone"}},
		{"customer_id":"attr-2","attributes":{"Channel":"phone","tenure":3}},
		{"customer_id":"","attributes":{"channel":"(none)"}},
		{"customer_id":"attr-1","attributes":{}}]}`)
	code, details := r.errorBody(t)
	if r.Status != http.StatusUnprocessableEntity || code != "invalid" {
		t.Fatalf("bad batch: %d %s", r.Status, r.Body)
	}
	got := map[int][]string{}
	for _, d := range details {
		got[d.Row] = append(got[d.Row], d.Field)
	}
	for row, fields := range got {
		slices.Sort(fields)
		got[row] = fields
	}
	if fmt.Sprint(got) != "map[2:[attributes.Channel attributes.tenure] 3:[attributes.channel customer_id] 4:[attributes customer_id]]" {
		t.Errorf("details %v: %s", got, r.Body)
	}

	r = e.must(http.StatusOK, admin, "POST", "/v1/customers:batch", map[string]any{"customers": []map[string]any{
		{"customer_id": "attr-1", "attributes": map[string]string{"channel": "phone", "nps_group": "promoter"}}}})
	if string(r.Body) != `{"stored":1}`+"\n" {
		t.Errorf("stored: %s", r.Body)
	}
	for _, body := range []string{`{}`, `{"customers":[]}`} {
		e.must(http.StatusUnprocessableEntity, ingest, "POST", "/v1/customers:batch", body)
	}
	e.must(http.StatusBadRequest, ingest, "POST", "/v1/customers:batch", `{"customers":[{"customer_id":"x","attributes":{"a":"b"},"extra":1}]}`)
	e.must(http.StatusForbidden, analyst, "POST", "/v1/customers:batch", `{}`)
	e.must(http.StatusForbidden, editor, "POST", "/v1/customers:batch", `{}`)
}
