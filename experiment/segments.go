package experiment

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/krslab/krslab/stats"
)

// Segments: customers carry attributes known before an experiment (channel, tenure, NPS
// group...), and an experiment's results can be split by one of them. Every segment value
// is analysed like a whole experiment, but the multiple-comparison family is widened to
// every (segment value, outcome, treatment) comparison, and Cochran's Q tells per outcome
// and treatment whether the effect really differs between segments, so that analysts are
// warned before they read noise in subgroups.

// NoSegment is the segment value of customers who lack the attribute.
const NoSegment = "(none)"

// Limits of customer attributes and segmented analyses.
const (
	// MaxAttributesPerCustomer bounds the attributes of one customer in one request.
	MaxAttributesPerCustomer = 50
	// MaxSegmentValues bounds the cells of a segmented analysis: an attribute with more
	// distinct values (an id, a free text) is no segment, and its cells would be too
	// small and the family too large to find anything.
	MaxSegmentValues = 50
)

// CustomerAttributes are the attributes of one customer, by name.
type CustomerAttributes struct {
	CustomerID string
	Attributes map[string]string
	Problems   []Detail // found while decoding (the row is set by the service)
}

// SegmentStore is what segments need from a Store beyond the Store interface. The
// postgres Store implements it; the service finds it by a type assertion.
type SegmentStore interface {
	// SaveAttributes stores every attribute of every customer or none; an attribute the
	// customer already has is replaced (updated_at = at).
	SaveAttributes(ctx context.Context, cs []CustomerAttributes, at time.Time) error
	// SummarizeSegments is Summarize per value of the customer attribute name (NoSegment
	// for customers without it), from one snapshot, ordered by value with NoSegment last;
	// of one survey wave when the specs have a Wave (each value's eligible customers as its
	// assigned ones). The values are those of the experiment's assigned customers, eligible
	// or not; more than maxValues of them is Invalid. Each Summary.Version is the whole
	// experiment's (Assigned: per arm over every value), a wave's with its ValidUntil.
	SummarizeSegments(ctx context.Context, experimentID int64, name string, specs []SummarySpec, maxValues int) ([]SegmentSummary, error)
}

// SegmentSummary is the summary of the customers with one value of an attribute.
type SegmentSummary struct {
	Value   string
	Summary Summary
}

// SegmentResults is an experiment's analysis split by one customer attribute.
type SegmentResults struct {
	Experiment Experiment
	Segment    string // the attribute's name
	// Wave is the survey wave analysed (WaveSegmentResults); nil for the whole experiment.
	Wave       *Wave
	ComputedAt time.Time
	// Cells are the analyses per value, ordered by value with NoSegment last. Their
	// comparisons' p_adjusted, significant and verdict are over the whole family
	// (FamilySize comparisons: every cell, outcome and treatment with enough data).
	// Sequential p-values are this look's, not the running minimum of /results.
	Cells         []SegmentCell
	FamilySize    int
	Heterogeneity []SegmentHeterogeneity // per outcome and treatment, in analysis and arm order

	version DataVersion // the data it read, as for Results
}

// SegmentCell is the analysis of the customers with one value of the attribute.
type SegmentCell struct {
	Value   string
	Results Results // Arms (traffic), Outcomes and SRM of the cell; no recommendation
}

// SegmentHeterogeneity is Cochran's Q over the cells of one outcome and treatment.
type SegmentHeterogeneity struct {
	Outcome string
	Arm     string
	stats.Heterogeneity
}

// CheckAttributeName returns what is wrong with an attribute name, the zero Text if nothing.
func CheckAttributeName(name string) Text {
	if !attributePattern.MatchString(name) {
		return Textf("must be 1-63 lower-case letters, digits or underscores, starting with a letter")
	}
	return Text{}
}

// CheckAttributeValue returns what is wrong with an attribute value, the zero Text if nothing.
func CheckAttributeValue(v string) Text {
	if v == NoSegment {
		return Textf("%q is reserved for customers without the attribute", NoSegment)
	}
	return CheckID(v) // 1..128 printable characters, like ids
}

func (s *Service) segmentStore() (SegmentStore, error) {
	ss, ok := s.Store.(SegmentStore)
	if !ok {
		return nil, &Error{Code: Internal, Message: "internal error", Cause: fmt.Errorf("store %T does not keep customer attributes", s.Store)}
	}
	return ss, nil
}

// RecordAttributes validates and stores customer attributes all-or-nothing; every bad row
// is reported. An attribute a customer already has is replaced.
func (s *Service) RecordAttributes(ctx context.Context, cs []CustomerAttributes) error {
	var p Problems
	if len(cs) == 0 {
		p.Field("customers", "at least one customer is required")
	}
	if len(cs) > MaxBatch {
		p.Field("customers", "at most %d customers per batch", MaxBatch)
	}
	if err := p.Err("invalid customer attributes"); err != nil {
		return err
	}
	seen := make(map[string]int, len(cs))
	for i, c := range cs {
		row := i + 1
		for _, d := range c.Problems {
			d.Row = row
			p.Add(d)
		}
		if msg := CheckID(c.CustomerID); !msg.IsZero() {
			p.Row(row, "customer_id", "%s", msg)
		} else if first, dup := seen[c.CustomerID]; dup {
			p.Row(row, "customer_id", "duplicates row %d of this batch", first)
		} else {
			seen[c.CustomerID] = row
		}
		switch {
		case len(c.Attributes) == 0 && len(c.Problems) == 0:
			p.Row(row, "attributes", "at least one attribute is required")
		case len(c.Attributes) > MaxAttributesPerCustomer:
			p.Row(row, "attributes", "at most %d attributes per customer", MaxAttributesPerCustomer)
		}
		names := make([]string, 0, len(c.Attributes))
		for name := range c.Attributes {
			names = append(names, name)
		}
		slices.Sort(names) // report in a stable order
		for _, name := range names {
			if msg := CheckAttributeName(name); !msg.IsZero() {
				p.Row(row, "attributes."+name, "name %s", msg)
				continue
			}
			if msg := CheckAttributeValue(c.Attributes[name]); !msg.IsZero() {
				p.Row(row, "attributes."+name, "%s", msg)
			}
		}
	}
	if err := p.Err("invalid customer attributes"); err != nil {
		return err
	}
	ss, err := s.segmentStore()
	if err != nil {
		return err
	}
	return ss.SaveAttributes(ctx, cs, s.Now())
}

// SegmentResults analyses an experiment per value of the customer attribute segment. The
// analysis is kept like Results, with the version of the attributes as well.
func (s *Service) SegmentResults(ctx context.Context, key, segment string) (SegmentResults, error) {
	return s.WaveSegmentResults(ctx, key, segment, "")
}

// WaveSegmentResults is SegmentResults of one survey wave (STATS.md, third part), or of the
// whole experiment when wave is "": every cell is the wave's analysis of the customers with
// that value, as WaveResults analyses all of them (the responses in the wave, the latest
// answer within it, the customers eligible in it as the assigned ones), and the family is
// every cell's comparisons in the wave. It is kept like WaveResults, until the next customer
// becomes eligible. An unknown wave is Invalid, naming the parameter wave.
func (s *Service) WaveSegmentResults(ctx context.Context, key, segment, wave string) (SegmentResults, error) {
	if msg := CheckAttributeName(segment); !msg.IsZero() {
		return SegmentResults{}, &Error{Code: Invalid, Message: "invalid query", Details: []Detail{fieldDetail("segment", msg)}}
	}
	ss, err := s.segmentStore()
	if err != nil {
		return SegmentResults{}, err
	}
	snap, ok := s.Store.(SnapshotStore)
	if !ok || s.snaps == nil {
		return s.analyseSegments(ctx, ss, key, segment, wave)
	}
	cur, err := s.dataVersion(ctx, snap, key)
	if err != nil {
		return SegmentResults{}, err
	}
	// (Attribute names and wave keys are identifiers: no NUL.)
	kept := key + "\x00" + segment
	if wave != "" {
		kept += "\x00wave\x00" + wave
	}
	return s.snaps.segments.get(ctx, kept, cur, func(ctx context.Context) (SegmentResults, DataVersion, error) {
		res, err := s.analyseSegments(ctx, ss, key, segment, wave)
		return res, res.version, err
	})
}

func (s *Service) analyseSegments(ctx context.Context, ss SegmentStore, key, segment, wave string) (SegmentResults, error) {
	e, err := s.Store.Experiment(ctx, key)
	if err != nil {
		return SegmentResults{}, err
	}
	outcomes, err := s.OutcomeMap(ctx)
	if err != nil {
		return SegmentResults{}, err
	}
	now := s.Now()
	keys := e.AnalysedOutcomes()
	specs := SummarySpecs(keys, outcomes, time.Time{})
	var w *Wave
	if wave != "" {
		found, ok := e.Wave(wave)
		if !ok {
			return SegmentResults{}, &Error{Code: Invalid, Message: "unknown wave",
				Details: []Detail{fieldDetail("wave", Textf("experiment %q has no wave %q", e.Key, wave))}}
		}
		w = &found
		for i := range specs {
			specs[i].Wave = &WaveWindow{Wave: found, At: now}
		}
	}
	sums, err := ss.SummarizeSegments(ctx, e.ID, segment, specs, MaxSegmentValues)
	if err != nil {
		return SegmentResults{}, err
	}
	if len(sums) == 1 && sums[0].Value == NoSegment {
		return SegmentResults{}, &Error{Code: Invalid, Message: "invalid query", Details: []Detail{{Field: "segment",
			Message: fmt.Sprintf("no customer assigned in experiment %q has the attribute %q", key, segment)}}}
	}
	res := AnalyzeSegments(e, outcomes, keys, sums)
	res.Segment, res.Wave = segment, w
	res.ComputedAt = now
	for i := range res.Cells {
		res.Cells[i].Results.Wave = w
	}
	if len(sums) > 0 && sums[0].Summary.Version.Assigned != nil {
		res.version = sums[0].Summary.Version
		res.version.Experiment = e.Version
	}
	return res, nil
}

// AnalyzeSegments analyses every cell with Analyze, then adjusts the p-values of every
// (cell, outcome, treatment) comparison as one family with the experiment's correction and
// tests, per outcome and treatment, whether the effect differs between cells.
func AnalyzeSegments(e Experiment, outcomes map[string]Outcome, keys []string, sums []SegmentSummary) SegmentResults {
	res := SegmentResults{Experiment: e, Cells: make([]SegmentCell, len(sums))}
	// Analyze adjusted within each cell; the family is every cell. The comparisons are
	// values in maps, so they are adjusted in a slice and written back.
	type at struct {
		cell, outcome int
		arm           string
	}
	var where []at
	var cs []stats.Comparison
	var hib []bool
	for i, sum := range sums {
		r := Analyze(e, outcomes, keys, sum.Summary)
		r.Recommendation = stats.Recommendation{} // a subgroup is not a roll-out decision
		res.Cells[i] = SegmentCell{Value: sum.Value, Results: r}
		for j, o := range r.Outcomes {
			for _, a := range e.Arms {
				if c, ok := o.Comparisons[a.Key]; ok && !a.Control {
					where = append(where, at{i, j, a.Key})
					cs = append(cs, c)
					hib = append(hib, o.Outcome.HigherIsBetter)
				}
			}
		}
	}
	family := make([]stats.FamilyMember, len(cs))
	for k := range cs {
		family[k] = stats.FamilyMember{C: &cs[k], HigherIsBetter: hib[k]}
	}
	res.FamilySize = stats.AdjustFamily(family, e.Correction, e.Alpha)
	for k, w := range where {
		res.Cells[w.cell].Results.Outcomes[w.outcome].Comparisons[w.arm] = cs[k]
	}
	for i, key := range keys {
		for _, a := range e.Arms {
			if a.Control {
				continue
			}
			effects := make([]float64, len(res.Cells))
			ses := make([]float64, len(res.Cells))
			for j, cell := range res.Cells {
				effects[j], ses[j] = effectSE(cell.Results.Outcomes[i].Comparisons[a.Key])
			}
			res.Heterogeneity = append(res.Heterogeneity, SegmentHeterogeneity{Outcome: key, Arm: a.Key,
				Heterogeneity: stats.CochranQ(effects, ses, e.Alpha)})
		}
	}
	return res
}

// effectSE is the effect that decides a comparison's verdict (CUPED's when present) and
// its standard error; NaN without enough data.
func effectSE(c stats.Comparison) (float64, float64) {
	if c.Deciding == nil {
		return math.NaN(), math.NaN()
	}
	return c.Deciding.Diff, c.Deciding.SE
}

// SortSegmentValues orders segment values as SegmentStore promises: by value, NoSegment
// last.
func SortSegmentValues(values []string) {
	slices.SortFunc(values, func(a, b string) int {
		switch {
		case a == b:
			return 0
		case a == NoSegment:
			return 1
		case b == NoSegment:
			return -1
		}
		return strings.Compare(a, b)
	})
}
