package api_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/krslab/krslab/stats"
)

// randomWavesCase is a generated survey-wave experiment at the customer level, in the
// shape of the cases of ../shared/testdata/waves (without expected numbers), so that it
// goes in through postWavesCase like them.
type randomWavesCase struct {
	Alpha        float64            `json:"alpha"`
	Correction   string             `json:"correction"`
	Control      string             `json:"control"`
	Weights      map[string]float64 `json:"weights"`
	Now          int64              `json:"now"`
	Outcomes     []randomOutcome    `json:"outcomes"`
	Waves        []randomWave       `json:"waves"`
	DecisionWave string             `json:"decision_wave"`
	Guardrails   []string           `json:"guardrails"`
	Customers    []randomCustomer   `json:"customers"`

	offset float64 // of the numeric outcome's values
}

type randomOutcome struct {
	Key            string   `json:"key"`
	Kind           string   `json:"kind"`
	Min            *float64 `json:"min,omitempty"`
	Max            *float64 `json:"max,omitempty"`
	TopMin         *float64 `json:"top_min,omitempty"`
	BottomMax      *float64 `json:"bottom_max,omitempty"`
	HigherIsBetter *bool    `json:"higher_is_better,omitempty"`
}

type randomWave struct {
	Key     string `json:"key"`
	FromDay int    `json:"from_day"`
	ToDay   int    `json:"to_day"`
}

type randomCustomer struct {
	ID         string           `json:"id"`
	Arm        string           `json:"arm"`
	AssignedAt int64            `json:"assigned_at"`
	Responses  []randomResponse `json:"responses"` // in arrival order
}

type randomResponse struct {
	ResponseID string             `json:"response_id"`
	AnsweredAt int64              `json:"answered_at"`
	Answers    map[string]float64 `json:"answers"`
}

const daySeconds = 86400

func ptr[T any](v T) *T { return &v }

// generateWavesCase draws an experiment from seed: 2 or 3 arms with random weights, a
// scale and a numeric outcome (either primary; the numeric one sometimes with an offset of
// 1e9) and sometimes a net and a binary one (a guardrail), 2 or 3 waves (sometimes
// adjacent, so that a day's boundary separates them), a random decision wave, and a few
// hundred customers assigned at random moments before now, so that some have not reached
// the later waves. Each customer answers each wave it has reached with an arm-dependent
// probability, at a random age within the wave (often on its first or last second), some
// twice (at the same second or another, arriving in either order, answering a random
// subset of the outcomes), and some outside every wave (between waves, just before one,
// after the last, or before the assignment).
func generateWavesCase(seed uint64) randomWavesCase {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	c := randomWavesCase{Control: "control", Weights: map[string]float64{"control": float64(1 + rng.IntN(3))},
		Now: time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC).Unix() + rng.Int64N(daySeconds)}
	c.Alpha = []float64{0.05, 0.1, 0.01}[rng.IntN(3)]
	c.Correction = []string{"holm", "bh", "none"}[rng.IntN(3)]
	arms := []string{"control", "callback"}
	if rng.IntN(2) == 0 {
		arms = append(arms, "letter")
	}
	lift := map[string]float64{"control": 0}
	rate := map[string]float64{"control": 0.45 + 0.2*rng.Float64()}
	for _, a := range arms[1:] {
		c.Weights[a] = float64(1 + rng.IntN(3))
		lift[a] = -0.3 + 1.3*rng.Float64()
		rate[a] = rate["control"] + 0.25*rng.Float64()
	}
	fade := 0.3 + 0.9*rng.Float64() // the lift's factor from one wave to the next

	levels := []float64{5, 7}[rng.IntN(2)]
	scale := randomOutcome{Key: "trust", Kind: "scale", Min: ptr(1.0), Max: ptr(levels), HigherIsBetter: ptr(true)}
	numeric := randomOutcome{Key: "spend", Kind: "numeric", HigherIsBetter: ptr(true)}
	offset := []float64{0, 250, 1e9}[rng.IntN(3)]
	c.offset = offset
	c.Outcomes = []randomOutcome{scale, numeric}
	if rng.IntN(2) == 0 {
		c.Outcomes[0], c.Outcomes[1] = numeric, scale
	}
	withNet, withBinary := rng.IntN(2) == 0, rng.IntN(2) == 0
	if withNet {
		c.Outcomes = append(c.Outcomes, randomOutcome{Key: "nps", Kind: "net", Min: ptr(0.0), Max: ptr(10.0),
			TopMin: ptr(9.0), BottomMax: ptr(6.0), HigherIsBetter: ptr(true)})
	}
	if withBinary {
		c.Outcomes = append(c.Outcomes, randomOutcome{Key: "complaint", Kind: "binary", HigherIsBetter: ptr(false)})
		c.Guardrails = append(c.Guardrails, "complaint")
	}

	from := rng.IntN(3)
	for i := range 2 + rng.IntN(2) {
		to := from + 4 + rng.IntN(25)
		c.Waves = append(c.Waves, randomWave{Key: fmt.Sprintf("wave_%d", i+1), FromDay: from, ToDay: to})
		from = to + 1 + rng.IntN(3)*rng.IntN(10) // sometimes the next day: adjacent waves
	}
	c.DecisionWave = c.Waves[rng.IntN(len(c.Waves))].Key
	last := c.Waves[len(c.Waves)-1]

	var armWeights float64
	for _, a := range arms {
		armWeights += c.Weights[a]
	}
	clamp := func(v, lo, hi float64) float64 { return math.Min(hi, math.Max(lo, math.Round(v))) }
	seq := 0
	for i := range 200 + rng.IntN(200) {
		pick, arm := rng.Float64()*armWeights, arms[len(arms)-1]
		for _, a := range arms {
			if pick < c.Weights[a] {
				arm = a
				break
			}
			pick -= c.Weights[a]
		}
		cu := randomCustomer{ID: fmt.Sprintf("c%d-%04d", seed, i), Arm: arm,
			AssignedAt: c.Now - rng.Int64N(int64(last.ToDay+25)*daySeconds)}
		reached := c.Now - cu.AssignedAt // the largest age an answer can have now
		z := rng.NormFloat64()           // the customer's own level, which the waves share
		answer := func(w int, at int64) {
			l := lift[arm] * math.Pow(fade, float64(w))
			answers := map[string]float64{}
			for _, o := range c.Outcomes {
				if len(answers) > 0 && rng.Float64() < 0.15 {
					continue // this response leaves the outcome out
				}
				var v float64
				switch o.Kind {
				case "scale":
					v = clamp((levels+1)/2+l+0.8*z+rng.NormFloat64(), 1, levels)
				case "numeric":
					v = math.Round((offset+40*z+30*l+25*rng.NormFloat64())*100) / 100
				case "net":
					v = clamp(7+1.5*l+1.5*z+1.5*rng.NormFloat64(), 0, 10)
				case "binary":
					if rng.Float64() < 0.3-0.1*l-0.05*z {
						v = 1
					}
				}
				answers[o.Key] = v
			}
			seq++
			cu.Responses = append(cu.Responses, randomResponse{ResponseID: fmt.Sprintf("r%d-%05d", seed, seq),
				AnsweredAt: cu.AssignedAt + at, Answers: answers})
		}
		for wi, w := range c.Waves {
			lo, hi := int64(w.FromDay)*daySeconds, int64(w.ToDay+1)*daySeconds-1
			hi = min(hi, reached)
			if hi < lo || rng.Float64() >= rate[arm] {
				continue
			}
			age := lo + rng.Int64N(hi-lo+1)
			switch rng.IntN(10) {
			case 0:
				age = lo
			case 1:
				age = hi
			}
			answer(wi, age)
			if rng.Float64() < 0.2 {
				again := lo + rng.Int64N(hi-lo+1)
				if rng.IntN(3) == 0 {
					again = age // the same second: the later arrival counts
				}
				answer(wi, again)
				if rng.IntN(2) == 0 {
					n := len(cu.Responses)
					cu.Responses[n-1], cu.Responses[n-2] = cu.Responses[n-2], cu.Responses[n-1]
				}
			}
		}
		if rng.Float64() < 0.15 {
			var outside []int64
			for k, w := range c.Waves {
				if w.FromDay > 0 && (k == 0 || c.Waves[k-1].ToDay < w.FromDay-1) {
					outside = append(outside, int64(w.FromDay)*daySeconds-1) // the last second before it
				}
				if k+1 < len(c.Waves) && c.Waves[k+1].FromDay > w.ToDay+1 {
					outside = append(outside, int64(w.ToDay+1)*daySeconds) // the first second after it
				}
			}
			outside = append(outside, int64(last.ToDay+1)*daySeconds+rng.Int64N(10*daySeconds), -1-rng.Int64N(daySeconds))
			if age := outside[rng.IntN(len(outside))]; age <= reached {
				answer(len(c.Waves)-1, age)
				n := len(cu.Responses)
				k := rng.IntN(n)
				cu.Responses[n-1], cu.Responses[k] = cu.Responses[k], cu.Responses[n-1]
			}
		}
		c.Customers = append(c.Customers, cu)
	}
	return c
}

// holds is STATS.md's rule for a response in wave w: the age d = floor((answered_at - assigned_at) / 86400 s) of
// the response lies in [from_day, to_day].
func (w randomWave) holds(assignedAt, answeredAt int64) bool {
	s := answeredAt - assignedAt
	d := s / daySeconds
	if s < 0 && s%daySeconds != 0 {
		d--
	}
	return d >= int64(w.FromDay) && d <= int64(w.ToDay)
}

// eligible is whether a customer counts as assigned in wave w at now: assigned at least
// from_day days before it.
func (c randomWavesCase) eligible(cu randomCustomer, w randomWave) bool {
	return cu.AssignedAt+int64(w.FromDay)*daySeconds <= c.Now
}

// latest is the customer's counted answer of outcome key in wave w: the latest by
// answered_at, then by arrival.
func (cu randomCustomer) latest(w randomWave, key string) (float64, bool) {
	var at int64
	var v float64
	found := false
	for _, r := range cu.Responses {
		x, ok := r.Answers[key]
		if !ok || !w.holds(cu.AssignedAt, r.AnsweredAt) {
			continue
		}
		if !found || r.AnsweredAt >= at {
			at, v, found = r.AnsweredAt, x, true
		}
	}
	return v, found
}

// statsOutcome is the outcome as stats knows it, under its stored key.
func (o randomOutcome) statsOutcome(key string) stats.Outcome {
	s := stats.Outcome{Key: key, Kind: stats.Kind(o.Kind), HigherIsBetter: o.HigherIsBetter == nil || *o.HigherIsBetter}
	switch o.Kind {
	case "binary":
		s.Min, s.Max = 0, 1
	case "scale", "net":
		s.Min, s.Max = *o.Min, *o.Max
	}
	if o.TopMin != nil {
		s.TopMin, s.BottomMax = *o.TopMin, *o.BottomMax
	}
	return s
}

func (c randomWavesCase) arms() []string {
	arms := []string{c.Control}
	for _, a := range []string{"callback", "letter"} {
		if _, ok := c.Weights[a]; ok {
			arms = append(arms, a)
		}
	}
	return arms
}

// waveDesign is the design of wave w's analysis: the first outcome primary, the experiment
// running without a target, and as its traffic the eligible customers as assigned and those
// of them with a response in the wave as responded. local gives the stored outcome keys.
func (c randomWavesCase) waveDesign(w randomWave, local map[string]string) stats.Design {
	d := stats.Design{Alpha: c.Alpha, Correction: c.Correction, Control: c.Control, Arms: c.arms(),
		Weights: c.Weights, Assigned: map[string]int64{}, Responded: map[string]int64{},
		Primary: local[c.Outcomes[0].Key]}
	for _, g := range c.Guardrails {
		d.Guardrails = append(d.Guardrails, local[g])
	}
	for _, cu := range c.Customers {
		if !c.eligible(cu, w) {
			continue
		}
		d.Assigned[cu.Arm]++
		for _, r := range cu.Responses {
			if w.holds(cu.AssignedAt, r.AnsweredAt) {
				d.Responded[cu.Arm]++
				break
			}
		}
	}
	return d
}

// expectedWave is the analysis of wave w from the customers, as STATS.md defines it: the
// eligible customers as assigned, those of them with a response in the wave as responded,
// per outcome and arm the latest answer of each customer within the wave; the first outcome
// primary, the experiment running without a target. local gives the stored outcome keys.
func (c randomWavesCase) expectedWave(w randomWave, local map[string]string) (stats.Analysis, map[string][2]int64) {
	d := c.waveDesign(w, local)
	values := make([]map[string][]float64, len(c.Outcomes))
	for i := range values {
		values[i] = map[string][]float64{}
	}
	for _, cu := range c.Customers {
		if !c.eligible(cu, w) {
			continue
		}
		for i, o := range c.Outcomes {
			if v, ok := cu.latest(w, o.Key); ok {
				values[i][cu.Arm] = append(values[i][cu.Arm], v)
			}
		}
	}
	var outcomes []stats.Outcome
	for i, o := range c.Outcomes {
		so := o.statsOutcome(local[o.Key])
		so.Arms = map[string]stats.ArmData{}
		for arm, xs := range values[i] {
			if o.Kind == "numeric" {
				so.Arms[arm] = stats.ArmData{Moments: stats.MomentsOf(xs)}
			} else {
				cs := stats.CountsOf(xs, int(so.Min), int(so.Max))
				so.Arms[arm] = stats.ArmData{Counts: &cs}
			}
		}
		outcomes = append(outcomes, so)
	}
	traffic := map[string][2]int64{}
	for _, a := range d.Arms {
		traffic[a] = [2]int64{d.Assigned[a], d.Responded[a]}
	}
	return stats.Analyze(d, outcomes), traffic
}

// expectedPersistence is the persistence block of outcome o and treatment arm: each
// wave's effect from its analysis, and the change between the first and the last wave
// with a comparison over the customers with a counted answer in both (c = the level,
// +100/0/-100 for net outcomes, 0/1 for binary ones; the delta of the values for numeric).
func (c randomWavesCase) expectedPersistence(o randomOutcome, key, arm string, analyses []stats.Analysis) stats.Persistence {
	so := o.statsOutcome(key)
	p := stats.Persistence{Waves: []stats.WaveEffect{}}
	for i, w := range c.Waves {
		r, _ := analyses[i].Outcome(key)
		p.Waves = append(p.Waves, stats.WaveEffectOf(w.Key, r.Comparisons[arm]))
	}
	p.Durable = stats.Durable(p.Waves)
	first, last, ok := stats.ChangeWaves(p.Waves)
	if !ok {
		return p
	}
	point := func(v float64) float64 {
		if o.Kind == "net" {
			return stats.NetPoints(v, *o.TopMin, *o.BottomMax)
		}
		return v
	}
	deltas := map[string][]float64{}
	for _, cu := range c.Customers {
		if cu.Arm != arm && cu.Arm != c.Control {
			continue
		}
		a, okA := cu.latest(c.Waves[first], o.Key)
		b, okB := cu.latest(c.Waves[last], o.Key)
		if okA && okB {
			deltas[cu.Arm] = append(deltas[cu.Arm], point(b)-point(a))
		}
	}
	p.Change = stats.WaveChange(c.Waves[first].Key, c.Waves[last].Key, stats.MomentsOf(deltas[arm]),
		stats.MomentsOf(deltas[c.Control]), c.Alpha, so.HigherIsBetter)
	return p
}

// asJSONValue is v as the API's JSON decodes into any.
func asJSONValue(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestWavesRandomCasesThroughAPI generates survey-wave experiments from fixed seeds
// (generateWavesCase), posts each one as a running experiment with historical assignments
// and computes what every wave's results and the persistence must be from the customers
// themselves (which response lies in which wave, who is eligible, the latest answer within
// a wave, the per-customer deltas), with the stats package's functions on those values.
// /results?wave=KEY must agree to 1e-6 relative (1e-9 absolute) in every number of every
// outcome (per-arm statistics, comparisons with their effect, p_adjusted, verdict, bounds,
// ordinal, sequential), in srm, response_check, the eligible and responding counts and the
// recommendation; results.csv?wave=KEY must carry the JSON's numbers; /persistence every
// wave's effect, the change and durable; and /results the decision wave's recommendation.
// The responses go in as one batch, in arrival order: two of a customer at the same second
// count by that order, whatever their response ids.
func TestWavesRandomCasesThroughAPI(t *testing.T) {
	e := newEnv(t)
	for _, seed := range []uint64{11, 12, 13, 14, 15, 16, 17, 18} {
		gen := generateWavesCase(seed)
		t.Run(fmt.Sprintf("seed_%d", seed), func(t *testing.T) {
			responses, outside, ties := 0, 0, 0
			for _, cu := range gen.Customers {
				responses += len(cu.Responses)
				for i, r := range cu.Responses {
					for _, o := range cu.Responses[:i] {
						if o.AnsweredAt == r.AnsweredAt && o.ResponseID > r.ResponseID {
							ties++ // the same second, the later arrival with the smaller id
						}
					}
					in := false
					for _, w := range gen.Waves {
						in = in || w.holds(cu.AssignedAt, r.AnsweredAt)
					}
					if !in {
						outside++
					}
				}
			}
			var kinds []string
			for _, o := range gen.Outcomes {
				kinds = append(kinds, o.Kind)
			}
			t.Logf("seed %d: arms %v, alpha %v, %s, outcomes %v (numeric offset %g), waves %+v, decision %s, %d customers, %d responses (%d outside every wave, %d same-second repeats arriving after a larger response id)",
				seed, gen.Weights, gen.Alpha, gen.Correction, kinds, gen.offset, gen.Waves, gen.DecisionWave,
				len(gen.Customers), responses, outside, ties)
			b, err := json.Marshal(gen)
			if err != nil {
				t.Fatal(err)
			}
			var ref wavesRefCase
			if err := json.Unmarshal(b, &ref); err != nil {
				t.Fatal(err)
			}
			sub := *e
			sub.t = t
			key, local := postWavesCase(t, &sub, ref, fmt.Sprintf("random-%d", seed))

			checked := 0
			analyses := make([]stats.Analysis, len(gen.Waves))
			var decision stats.Analysis
			for i, w := range gen.Waves {
				want, traffic := gen.expectedWave(w, local)
				analyses[i] = want
				if w.Key == gen.DecisionWave {
					decision = want
				}
				wantJSON := asJSONValue(t, want).(map[string]any)
				var res caseResults
				r := sub.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+"/results?wave="+w.Key, nil)
				r.json(t, &res)
				var whole struct {
					Arms map[string]map[string]any `json:"arms"`
				}
				r.json(t, &whole)
				got := map[string]map[string]any{}
				for _, o := range res.Outcomes {
					got[o.Key] = map[string]any{"arms": o.Arms, "comparisons": o.Comparisons}
				}
				for _, o := range wantJSON["outcomes"].([]any) {
					o := o.(map[string]any)
					k := o["key"].(string)
					if got[k] == nil {
						t.Errorf("%s: outcome %s missing", w.Key, k)
						continue
					}
					for _, part := range []string{"arms", "comparisons"} {
						checked += compareJSON(t, w.Key+"."+k+"."+part, o[part], any(got[k][part]))
					}
				}
				checked += compareJSON(t, w.Key+".srm", wantJSON["srm"], any(res.SRM))
				checked += compareJSON(t, w.Key+".response_check", wantJSON["response_check"], any(res.ResponseCheck))
				checked += compareRecommendation(t, w.Key+".recommendation", wantJSON["recommendation"].(map[string]any), res.Recommendation)
				for arm, n := range traffic {
					checked += compareJSON(t, w.Key+".arms."+arm, map[string]any{"assigned": float64(n[0]), "responded": float64(n[1])}, any(whole.Arms[arm]))
				}
				checked += checkWaveCSV(t, &sub, key, w.Key, res)
			}

			var whole caseResults
			sub.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+"/results", nil).json(t, &whole)
			checked += compareRecommendation(t, "recommendation", asJSONValue(t, decision.Recommendation).(map[string]any), whole.Recommendation)

			var p struct {
				Outcomes map[string]map[string]any `json:"outcomes"`
			}
			sub.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+"/persistence", nil).json(t, &p)
			changes := 0
			for _, o := range gen.Outcomes {
				k := local[o.Key]
				for _, arm := range gen.arms()[1:] {
					want := gen.expectedPersistence(o, k, arm, analyses)
					if want.Change != nil {
						changes++
					}
					checked += compareJSON(t, "persistence."+k+"."+arm, asJSONValue(t, want), p.Outcomes[k][arm])
				}
			}
			if changes == 0 {
				t.Errorf("no change between waves to compare: the case is too thin")
			}
			t.Logf("%d values checked, %d changes", checked, changes)
		})
	}
}

// checkWaveCSV compares results.csv?wave=KEY with the wave's JSON: per outcome and arm the
// n, the headline estimate and its interval, and for treatment arms the deciding effect,
// p_adjusted and verdict, in the same shortest form.
func checkWaveCSV(t *testing.T, e *env, key, wave string, res caseResults) int {
	t.Helper()
	r := e.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+"/results.csv?wave="+wave, nil)
	rows, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	byOutcome := map[string]map[string]map[string]any{}
	kinds := map[string]string{}
	for _, o := range res.Outcomes {
		byOutcome[o.Key] = map[string]map[string]any{}
		for arm, s := range o.Arms {
			m := map[string]any{}
			for k, v := range s.(map[string]any) {
				m[k] = v
			}
			if c, ok := o.Comparisons[arm].(map[string]any); ok {
				m["comparison"] = c
			}
			byOutcome[o.Key][arm] = m
		}
	}
	n := 0
	for _, row := range rows[1:] {
		outcome, kind, arm := row[0], row[1], row[2]
		kinds[outcome] = kind
		s, ok := byOutcome[outcome][arm]
		if !ok {
			t.Errorf("results.csv?wave=%s: row %s/%s not in the JSON", wave, outcome, arm)
			continue
		}
		id := fmt.Sprintf("results.csv?wave=%s %s/%s", wave, outcome, arm)
		estimate := map[string]string{"net": "score", "binary": "rate"}[kind]
		if estimate == "" {
			estimate = "mean"
		}
		checkCell(t, id+" n", row[3], s["n"])
		checkCell(t, id+" mean", row[4], s[estimate])
		checkCell(t, id+" ci_low", row[5], s["ci_low"])
		checkCell(t, id+" ci_high", row[6], s["ci_high"])
		n += 4
		c, ok := s["comparison"].(map[string]any)
		if !ok {
			continue
		}
		if row[12] != c["verdict"] {
			t.Errorf("%s verdict: CSV %s, JSON %v", id, row[12], c["verdict"])
		}
		n++
		effect, _ := c["effect"].(map[string]any)
		if effect == nil {
			continue // insufficient: empty cells
		}
		for i, f := range []string{"diff", "ci_low", "ci_high", "p_value"} {
			checkCell(t, id+" "+f, row[7+i], effect[f])
		}
		checkCell(t, id+" p_adjusted", row[11], c["p_adjusted"])
		n += 5
	}
	want := 0
	for _, o := range res.Outcomes {
		want += len(o.Arms)
	}
	if len(rows)-1 != want || len(kinds) != len(res.Outcomes) {
		t.Errorf("results.csv?wave=%s: %d rows over %d outcomes, the JSON has %d rows over %d", wave, len(rows)-1, len(kinds), want, len(res.Outcomes))
	}
	return n
}
