package experiment

import (
	"context"
	"time"

	"github.com/krslab/krslab/stats"
)

// Store persists experiments. The postgres package implements it; every method that changes
// data does so in one transaction, together with its audit entry.
type Store interface {
	Outcomes(ctx context.Context) ([]Outcome, error)
	CreateOutcome(ctx context.Context, o Outcome, audit AuditEntry) error

	// CreateExperiment stores a new experiment and sets its ID and Version. prepare runs
	// first, in the same transaction: it may place e in its layer and returns the audit entry.
	CreateExperiment(ctx context.Context, e *Experiment, prepare func(tx ExperimentTx) (AuditEntry, error)) error
	Experiment(ctx context.Context, key string) (Experiment, error)
	Experiments(ctx context.Context, status Status) ([]Experiment, error)
	// ChangeExperiment reads the experiment as stored, locked until its transaction ends,
	// lets change modify it and stores the result with the audit entry change returns (an
	// error from change stores nothing). Concurrent changes of one experiment, from any
	// instance, so apply one after the other, each to the result of the one before; and
	// assignments in flight (which hold the experiment's row shared) are stored before the
	// change is. It returns the experiment as stored, with its new Version.
	ChangeExperiment(ctx context.Context, key string, change func(e *Experiment, tx ExperimentTx) (AuditEntry, error)) (Experiment, error)

	// Assign stores the given first assignments unless the customer already has one, and
	// returns the stored assignment of every customer, in order, with New set for the ones
	// this call created, stamped with the database's clock. It stores nothing and returns
	// Conflict when the experiment is no longer running: checked in the same statement, which
	// holds the experiment's row shared, so that no assignment is stored after a stop.
	Assign(ctx context.Context, e Experiment, as []Assignment) ([]Assignment, error)
	Assignment(ctx context.Context, experimentID int64, customerID string) (Assignment, error)
	// Assignments returns the stored assignments of the customers that have one.
	Assignments(ctx context.Context, experimentID int64, customerIDs []string) (map[string]Assignment, error)
	EachAssignment(ctx context.Context, experimentID int64, fn func(Assignment) error) error

	// SaveResponses stores all responses or none. A response whose response_id exists with
	// the same content hash is a replay (replayed[i] = true); with other content, Conflict.
	// A customer without an assignment is Invalid, naming the row.
	SaveResponses(ctx context.Context, experimentID int64, rs []Response) (replayed []bool, err error)
	SaveCovariates(ctx context.Context, experimentID int64, cs []Covariate) error

	// Summarize reads, in one consistent snapshot, the traffic per arm and the sufficient
	// statistics per arm of each outcome over the latest answer of every customer (for a
	// composite: of every customer who answered every component).
	Summarize(ctx context.Context, experimentID int64, specs []SummarySpec) (Summary, error)
	// SummarizeDays reads, in one consistent snapshot, what Summarize reads of one outcome
	// with Until at the end of each UTC day on which it (a composite: any component) was
	// answered, for every such day at once, in order (spec.Until is ignored); with
	// spec.Wave, of the wave, on the days on which it was answered.
	SummarizeDays(ctx context.Context, experimentID int64, spec SummarySpec) ([]DaySummary, error)
	// RecordLooks stores a look at sequential p-values and returns, per look, the minimum
	// over every look recorded so far (this one included).
	RecordLooks(ctx context.Context, experimentID int64, looks []Look) ([]float64, error)

	CreateAPIKey(ctx context.Context, k *APIKey, audit AuditEntry) error
	APIKeys(ctx context.Context) ([]APIKey, error)
	RevokeAPIKey(ctx context.Context, name string, audit AuditEntry) error

	// EraseCustomer deletes a customer's responses, answers, covariates and attributes in
	// every experiment and replaces the customer id of its assignments by a random one
	// (NewErasedID), all in one transaction with the audit entry.
	EraseCustomer(ctx context.Context, customerID string, audit AuditEntry) (Erasure, error)

	// Audit lists audit entries, newest first: of one experiment, or all when experimentID is 0.
	Audit(ctx context.Context, experimentID int64, limit int) ([]AuditEntry, error)

	Ping(ctx context.Context) error
}

// ExperimentTx is what a change of an experiment may ask of the transaction it runs in.
type ExperimentTx interface {
	// Now is the database's clock, read once the experiment is locked: later than the
	// assigned_at of every assignment stored before.
	Now() time.Time
	// Layer locks the layer until the transaction ends (placements in one layer happen one
	// at a time, on any instance) and lists the experiments of the layer.
	Layer(ctx context.Context, name string) ([]Experiment, error)
}

// ArmCount is the traffic of one arm.
type ArmCount struct {
	Assigned  int64
	Responded int64
}

// Summary is what the analysis of an experiment needs from the store.
type Summary struct {
	Arms     map[string]ArmCount
	Outcomes []map[string]stats.ArmData // in the order of the specs
	// Version is the version of the data the summary read, in the same snapshot, from a
	// store that keeps versions (SnapshotStore): Data, Attributes and Assigned (never nil
	// then); Experiment is left to the caller, who read the experiment. Zero otherwise.
	Version DataVersion
}

// DaySummary is a Summary as it stood at the end of Day (UTC).
type DaySummary struct {
	Day     time.Time
	Summary Summary
}

// Erasure reports what an erasure removed.
type Erasure struct {
	// ID names the erasure in the audit log; it is random, not derived from the customer.
	ID          string `json:"erasure"`
	Experiments int    `json:"experiments"`
	Responses   int64  `json:"responses"`
	Covariates  int64  `json:"covariates"`
	Attributes  int64  `json:"attributes"`
}

// Look is the sequential p-value of one comparison at one look.
type Look struct {
	Wave    string // the survey wave analysed; "" for the whole experiment
	Outcome string
	Arm     string
	PValue  float64
}

// SummarySpec says how to summarize one outcome.
type SummarySpec struct {
	Outcome    Outcome
	Components []Outcome // for a composite, in order
	Counts     bool      // count answers per integer level (scale, net, binary)
	Until      time.Time // only answers given before Until count; zero for all
	// Wave, when not nil, restricts the summary to one survey wave (the specs of one call
	// share it): the answers whose age lies in the wave, and as the arms' traffic the
	// customers eligible in it.
	Wave *WaveWindow
}

// WaveWindow is a survey wave as of a moment (At, the moment of computing): the answers
// whose age d = floor((answered_at - assigned_at) / 1 day) lies in [FromDay, ToDay], of
// the customers assigned at least FromDay days before At, the eligible ones. A Summary of
// a wave counts those customers as assigned and those of them with a response in the wave
// as responded; its Version is valid until the next customer becomes eligible.
type WaveWindow struct {
	Wave Wave
	At   time.Time
}

// AuditEntry records one change: who, what, on which subject, and a JSON diff.
type AuditEntry struct {
	ID           int64
	At           time.Time
	Actor        string
	Action       string
	ExperimentID int64 // 0 when the change concerns no experiment
	Subject      string
	Diff         any // on reading: json.RawMessage
}

type actorKey struct{}

// WithActor returns a context that names who makes the changes (an API key name).
func WithActor(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, actorKey{}, name)
}

// ActorFrom returns the actor of ctx, "system" when none was set (command line).
func ActorFrom(ctx context.Context) string {
	if name, ok := ctx.Value(actorKey{}).(string); ok && name != "" {
		return name
	}
	return "system"
}
