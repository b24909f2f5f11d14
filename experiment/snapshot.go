package experiment

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Snapshots: an analysis is kept with the version of the data it read (DataVersion) and
// served again while that version holds. Every write that changes what an analysis reads
// moves the version in its own transaction, on any instance (migration 00016), so one
// cheap query tells whether a kept analysis is still the analysis of the data as it
// stands. Each instance keeps its own analyses in memory; the headline of the latest one
// goes to the database too, for the console's list (Overview).

// DataVersion names the state of everything the analysis of an experiment reads.
type DataVersion struct {
	// Experiment is Experiment.Version: moved by every change of the experiment itself.
	Experiment int64
	// Data is moved by every write of the experiment's responses or covariates (erasure
	// included); 0 while nothing was written.
	Data int64
	// Attributes is moved by every write of customer attributes, which only segmented
	// analyses read.
	Attributes int64
	// Assigned counts the customers assigned per arm, as an analysis read them (the
	// Summary's Version). Assignments move no version (they are the hot path), so a kept
	// analysis of a running experiment is checked against the counts as they stand.
	Assigned map[string]int64
	// Running says, of the data as it stands (SnapshotStore.DataVersion), that the
	// experiment runs: then the counts per arm as they stand are read when a kept analysis
	// of the same versions is checked (Service.dataVersion), and only then. After a write
	// no kept analysis has the versions, and counting the customers assigned (a million,
	// say) is most of what the checks of a cold read would cost.
	Running bool
	// ValidUntil, when not zero, is the moment at which an analysis that read this version
	// stops being current however little is written: a survey wave's eligibility moves with
	// time, as customers reach the wave's first day (Summary of a WaveWindow). At is when the
	// current version was read, by the service's clock, to compare it with.
	ValidUntil time.Time
	At         time.Time

	assigned *assignedNow // Running: the counts per arm as they stand, read once
}

// assignedNow reads the customers assigned per arm of one experiment as they stand, once,
// for every check of one request that needs them (from any goroutine).
type assignedNow struct {
	once sync.Once
	read func(context.Context) (map[string]int64, error)
	n    map[string]int64
	err  error
}

func (a *assignedNow) get(ctx context.Context) (map[string]int64, error) {
	if a == nil {
		return nil, Errorf(Internal, "the counts of a running experiment's assignments cannot be read")
	}
	a.once.Do(func() { a.n, a.err = a.read(ctx) })
	return a.n, a.err
}

// dataVersion reads the versions of the data of experiment key as they stand, now, for the
// keepers; the counts per arm of a running experiment are read when a check needs them.
func (s *Service) dataVersion(ctx context.Context, ss SnapshotStore, key string) (DataVersion, error) {
	cur, err := ss.DataVersion(ctx, key)
	if err != nil {
		return DataVersion{}, err
	}
	cur.At = s.Now()
	if cur.Running && cur.Assigned == nil {
		cur.assigned = &assignedNow{read: func(ctx context.Context) (map[string]int64, error) {
			return ss.AssignedPerArm(ctx, key)
		}}
	}
	return cur, nil
}

// holds reports whether an analysis that read v is the analysis of the data as it stands
// (cur, from Service.dataVersion, or the version another analysis read); attributes says
// whether it read customer attributes. It reads cur's counts of assignments when it needs
// them, and fails only when that read does.
func (v DataVersion) holds(ctx context.Context, cur DataVersion, attributes bool) (bool, error) {
	if v.Experiment != cur.Experiment || v.Data != cur.Data || attributes && v.Attributes != cur.Attributes {
		return false, nil
	}
	if !v.ValidUntil.IsZero() && !cur.At.Before(v.ValidUntil) {
		return false, nil
	}
	now := cur.Assigned
	if now == nil && cur.Running {
		var err error
		if now, err = cur.assigned.get(ctx); err != nil {
			return false, err
		}
	}
	if now == nil {
		// Not running at this experiment version, nor when v was read (it is the same
		// version, and the analysis read its data after reading the experiment).
		return true, nil
	}
	for arm, n := range now {
		if v.Assigned[arm] != n {
			return false, nil
		}
	}
	for arm, n := range v.Assigned {
		if now[arm] != n {
			return false, nil
		}
	}
	return true, nil
}

// known says whether v names a state at all: a store that keeps no versions leaves it zero.
func (v DataVersion) known() bool { return v.Experiment != 0 }

// SnapshotStore is what snapshots need from a Store beyond the Store interface. The
// postgres Store implements it; without it every analysis is computed afresh. Its
// Summarize, SummarizeDays and SummarizeSegments set Summary.Version (all but Experiment,
// which is the caller's), read in the same snapshot as the summary.
type SnapshotStore interface {
	// DataVersion reads, in one statement, the versions of an experiment's data as they
	// stand and whether it runs (Running; Assigned is left nil). NotFound for an unknown key.
	DataVersion(ctx context.Context, key string) (DataVersion, error)
	// AssignedPerArm counts the customers assigned per arm of experiment key as they stand
	// (arms nobody was assigned to are left out).
	AssignedPerArm(ctx context.Context, key string) (map[string]int64, error)
	// SaveHeadline stores the headline of an analysis that read v, unless the headline
	// stored already comes from newer data.
	SaveHeadline(ctx context.Context, experimentID int64, v DataVersion, h HeadlineAnalysis) error
	// Overview lists, in one query, every experiment (of one status, when not empty, whose
	// name or key contains search, ignoring case, when not empty), newest first, with the
	// headline of its latest analysis and its open alerts.
	Overview(ctx context.Context, status Status, search string) ([]Headline, error)
}

// Headline is one experiment's line in the console's list: what it is, where it stands,
// and the headline numbers of its latest analysis.
type Headline struct {
	Key                   string
	Name                  string
	Status                Status
	CreatedAt             time.Time
	StartedAt             *time.Time
	StoppedAt             *time.Time
	DecidedAt             *time.Time
	TargetResponsesPerArm *int
	Arms                  []HeadlineArm // in the experiment's order
	OpenAlerts            int64
	// ExperimentVersion and DataVersion are the experiment's versions as they stand
	// (DataVersion's Experiment and Data).
	ExperimentVersion, DataVersion int64
	// Analysis is the headline of the latest analysis, from whichever instance made it;
	// nil when the experiment was never analysed ("not analysed yet").
	Analysis *HeadlineAnalysis
}

// HeadlineArm names an arm of a Headline.
type HeadlineArm struct {
	Key     string
	Name    string
	Control bool
}

// HeadlineAnalysis is what the list shows of an analysis.
type HeadlineAnalysis struct {
	ComputedAt time.Time
	// Current says that neither the experiment nor its responses or covariates changed
	// since the analysis. Customers assigned since are not checked here (they move only
	// the SRM check and the response rates); /results counts them.
	Current bool
	// Responses counts, per arm key, the customers whose answer to the primary outcome
	// counts (what the target per arm counts); MinResponses is the smallest over the arms.
	Responses    map[string]int64
	MinResponses int64
	// Action and Arm are the recommendation's (stats.Action*; Arm only for roll_out and
	// keep_control).
	Action string
	Arm    string
	// Warnings: the split of traffic does not match the weights (SRM), the arms answered
	// at different rates (the response check).
	SRMMismatch          bool
	DifferentialResponse bool
}

// Overview lists the experiments for the console: status "" (all) or one status, search a
// case-insensitive part of the name or key ("" for all). One query, from the headlines
// the analyses left; nothing is analysed here.
func (s *Service) Overview(ctx context.Context, status Status, search string) ([]Headline, error) {
	switch status {
	case "", Draft, Running, Stopped, Decided:
	default:
		return nil, &Error{Code: Invalid, Message: "invalid filter", Details: []Detail{{Field: "status", Message: "must be draft, running, stopped or decided"}}}
	}
	if msg := CheckText(search, MaxName); !msg.IsZero() {
		return nil, &Error{Code: Invalid, Message: "invalid filter", Details: []Detail{fieldDetail("search", msg)}}
	}
	ss, ok := s.Store.(SnapshotStore)
	if !ok {
		return nil, Errorf(Internal, "the store keeps no headlines")
	}
	return ss.Overview(ctx, status, search)
}

// headlineOf is the headline of an analysis.
func headlineOf(res Results) HeadlineAnalysis {
	h := HeadlineAnalysis{ComputedAt: res.ComputedAt, Current: true, Responses: map[string]int64{},
		Action: res.Recommendation.Action, Arm: res.Recommendation.Arm,
		SRMMismatch: res.SRM.Mismatch, DifferentialResponse: res.ResponseCheck.Differential}
	counted := res.Outcomes
	if res.decisionWave != nil {
		counted = res.decisionWave.Outcomes // the target counts the decision wave's responses
	}
	for _, o := range counted {
		if o.Primary {
			for arm, st := range o.Arms {
				h.Responses[arm] = st.N
			}
		}
	}
	for i, a := range res.Experiment.Arms {
		if n := h.Responses[a.Key]; i == 0 || n < h.MinResponses {
			h.MinResponses = n
		}
	}
	return h
}

// maxKept bounds the analyses an instance keeps per kind; the least recently used go first.
const maxKept = 1000

// keeper keeps, per key, the last value computed with the version it read, and shares a
// computation in flight among the callers that need the same data.
type keeper[T any] struct {
	attributes bool // whether the values read customer attributes

	mu      sync.Mutex
	clock   uint64
	values  map[string]*kept[T]
	flights map[string]*flight[T]
}

type kept[T any] struct {
	version DataVersion
	value   T
	used    uint64 // keeper.clock at the last use
}

// flight is one computation; done is closed once version, value and err are set.
type flight[T any] struct {
	done    chan struct{}
	version DataVersion
	value   T
	err     error
}

func newKeeper[T any](attributes bool) *keeper[T] {
	return &keeper[T]{attributes: attributes, values: map[string]*kept[T]{}, flights: map[string]*flight[T]{}}
}

// get returns the value of key for the data as it stands (cur): the one kept when it read
// that data; else the one a computation in flight returns, when it read that data; else
// one computed by compute, which returns the version it read. The caller that starts a
// computation takes its value whatever it read, since it read after cur did. A
// computation does not end with the caller that started it: one that gives up does not
// fail the others, and the value is kept for the next.
func (k *keeper[T]) get(ctx context.Context, key string, cur DataVersion, compute func(context.Context) (T, DataVersion, error)) (T, error) {
	v, _, err := k.getVersion(ctx, key, cur, compute)
	return v, err
}

// getVersion is get, with the version of the data the value read.
func (k *keeper[T]) getVersion(ctx context.Context, key string, cur DataVersion, compute func(context.Context) (T, DataVersion, error)) (T, DataVersion, error) {
	var zero T
	for {
		// (A kept entry is never changed but its use: it is checked outside the lock,
		// which holds may need to read the counts of assignments.)
		k.mu.Lock()
		v, ok := k.values[key]
		k.mu.Unlock()
		if ok {
			h, err := v.version.holds(ctx, cur, k.attributes)
			if err != nil {
				return zero, DataVersion{}, err
			}
			if h {
				k.mu.Lock()
				k.clock++
				v.used = k.clock
				k.mu.Unlock()
				return v.value, v.version, nil
			}
		}
		k.mu.Lock()
		f, joined := k.flights[key]
		if !joined {
			f = &flight[T]{done: make(chan struct{})}
			k.flights[key] = f
			go k.run(context.WithoutCancel(ctx), key, f, compute)
		}
		k.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			return zero, DataVersion{}, ctx.Err()
		}
		if !joined || f.err != nil {
			return f.value, f.version, f.err
		}
		h, err := f.version.holds(ctx, cur, k.attributes)
		if err != nil {
			return zero, DataVersion{}, err
		}
		if h {
			return f.value, f.version, nil
		}
		// It read other data than cur names (begun before a write cur saw): again.
	}
}

func (k *keeper[T]) run(ctx context.Context, key string, f *flight[T], compute func(context.Context) (T, DataVersion, error)) {
	f.value, f.version, f.err = compute(ctx)
	k.mu.Lock()
	delete(k.flights, key)
	if f.err == nil && f.version.known() {
		k.keepLocked(key, f.version, f.value)
	}
	k.mu.Unlock()
	close(f.done)
}

func (k *keeper[T]) keepLocked(key string, v DataVersion, value T) {
	k.clock++
	k.values[key] = &kept[T]{version: v, value: value, used: k.clock}
	if len(k.values) <= maxKept {
		return
	}
	oldest, at := "", k.clock
	for key, e := range k.values {
		if e.used < at {
			oldest, at = key, e.used
		}
	}
	delete(k.values, oldest)
}

// snapshots are the analyses an instance keeps: results, timelines and segmented results.
type snapshots struct {
	results   *keeper[Results]
	timelines *keeper[[]TimelinePoint]
	segments  *keeper[SegmentResults]
	// analyses observes every analysis computed (not served from a snapshot).
	analyses atomic.Pointer[func(key string)]
}

// ObserveAnalyses reports every analysis of an experiment's results that is computed
// rather than served from a snapshot (for metrics and tests). Call it before serving.
func (s *Service) ObserveAnalyses(fn func(key string)) { s.snaps.analyses.Store(&fn) }

func newSnapshots() *snapshots {
	return &snapshots{results: newKeeper[Results](false), timelines: newKeeper[[]TimelinePoint](false),
		segments: newKeeper[SegmentResults](true)}
}
