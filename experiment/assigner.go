package experiment

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// assigner is the hot path of assignment, which sits in customer journeys (a contact-centre
// screen, a mail run):
//
//   - a customer's assignment never changes, so repeat (sticky) requests are answered from
//     an in-process cache without touching the database;
//   - the definition of a running experiment (arms, weights, salt) is frozen, so it is
//     cached too; whether the experiment still runs is checked by the insert itself, and
//     re-read at least every StatusTTL for cached answers;
//   - a decided experiment is the roll-out of its decided arm to every customer asked:
//     nothing is stored, and the stored assignment (or that there is none) only gives the
//     time; it is cached like an assignment, since none is stored once an experiment is
//     decided. A decision follows a stop, so StatusTTL after the stop no instance holds a
//     copy from before it, and each serves the decision from its first read of it;
//   - new assignments from concurrent requests are grouped into one multi-row insert (group
//     commit), and each caller is answered only after that insert has committed. Each
//     experiment has a lane of its own, so an experiment whose inserts wait (behind a long
//     import, say) holds up only its own customers.
type assigner struct {
	store     Store
	statusTTL time.Duration
	now       func() time.Time
	laneIdle  time.Duration // a lane without requests for this long ends

	mu          sync.Mutex
	experiments map[string]*fresh[Experiment]
	sticky      *stickyCache
	lanes       map[int64]*lane
	closed      bool

	closing chan struct{} // closed by close
	workers sync.WaitGroup
	batch   atomic.Pointer[func(size int)] // observes group-commit batch sizes
}

// lane queues the new assignments of one experiment for its group commits. Requests are
// put in while holding assigner.mu, so a lane found empty under the lock stays empty.
type lane struct {
	queue chan *assignRequest
}

type assignRequest struct {
	ctx  context.Context
	e    Experiment
	a    Assignment
	done chan assignResult
}

type assignResult struct {
	a   Assignment
	err error
}

const (
	maxGroup       = 1000 // assignments per group commit
	stickyCapacity = 500_000
)

// StatusTTL bounds the age of the copy of an experiment an instance answers assignments
// from: a change of status made on any instance holds on every instance this long after it.
const StatusTTL = time.Second

func newAssigner(store Store) *assigner {
	return &assigner{
		store:       store,
		statusTTL:   StatusTTL,
		now:         time.Now,
		experiments: map[string]*fresh[Experiment]{},
		sticky:      newStickyCache(stickyCapacity),
		laneIdle:    time.Minute,
		lanes:       map[int64]*lane{},
		closing:     make(chan struct{}),
	}
}

// close stops taking new assignments, waits for the group commits in flight and fails the
// requests still queued.
func (as *assigner) close() {
	as.mu.Lock()
	if !as.closed {
		as.closed = true
		close(as.closing)
	}
	as.mu.Unlock()
	as.workers.Wait()
	as.mu.Lock()
	defer as.mu.Unlock()
	for id, l := range as.lanes {
		for len(l.queue) > 0 {
			(<-l.queue).done <- assignResult{err: errClosed}
		}
		delete(as.lanes, id)
	}
}

var (
	errClosed = &Error{Code: Unavailable, Message: "the service is shutting down; retry on another instance"}
	errQueued = &Error{Code: Unavailable, Message: "too many new assignments of this experiment are waiting for the database; retry in a moment"}
)

// outlastCopies waits until every copy of an experiment that any instance read before now
// has expired (copies live at most statusTTL), so that a change committed before the call
// is seen by every instance once it returns. It waits even when the caller gives up: the
// change has been made, and its caller must not hear of it before it holds everywhere.
func (as *assigner) outlastCopies() { time.Sleep(as.statusTTL) }

// experiment returns the definition of a running or decided experiment, from the cache when
// it was read less than StatusTTL ago (see fresh: renewed in the background before then, and
// read once for all the requests that find no copy).
func (as *assigner) experiment(ctx context.Context, key string) (Experiment, error) {
	as.mu.Lock()
	f, ok := as.experiments[key]
	if !ok {
		f = newFresh(as.statusTTL, func() time.Time { return as.now() }, func(ctx context.Context) (Experiment, error) {
			return as.store.Experiment(ctx, key)
		})
		as.experiments[key] = f
	}
	as.mu.Unlock()
	e, _, err := f.get(ctx)
	if err == nil && (e.Status == Running || e.Status == Decided) {
		return e, nil
	}
	// Only running and decided experiments are kept: the others, and unknown keys, are read
	// again (a stopped one is soon decided). A caller that gave up, or a failed read, leaves
	// the entry to the others.
	if err == nil || ErrorCode(err) == NotFound {
		as.mu.Lock()
		if as.experiments[key] == f {
			delete(as.experiments, key)
		}
		as.mu.Unlock()
	}
	if err != nil {
		return Experiment{}, err
	}
	if !e.AcceptsAssignments() {
		return Experiment{}, notRunning(e)
	}
	return e, nil
}

// serve answers customers of the experiment key: their assignments while it runs, the
// decided arm once it is decided. inline attributes (may be nil) stand in for stored ones in
// the eligibility rules of a running experiment.
func (as *assigner) serve(ctx context.Context, key string, ids []string, inline map[string]string) ([]Assignment, error) {
	e, err := as.experiment(ctx, key)
	if err != nil {
		return nil, err
	}
	if e.Status == Decided {
		return as.rollOut(ctx, e, ids)
	}
	out, err := as.assign(ctx, e, ids, inline)
	if ErrorCode(err) != Conflict {
		return out, err
	}
	// The insert found the experiment no longer running: the copy was read before a stop
	// (storeFailed dropped it). If a decision has followed, the customer is served by it
	// rather than refused; otherwise the refusal names the status it is in now.
	now, rerr := as.experiment(ctx, key)
	switch {
	case rerr != nil:
		return nil, rerr
	case now.Status == Decided:
		return as.rollOut(ctx, now, ids)
	}
	return nil, err
}

// rollOut serves customers of a decided experiment the decided arm, New false. Nothing is
// stored: a roll-out is not part of the experiment, whose analysis stays as it was decided,
// and its coverage, layer and eligibility chose who was in the sample, not who gets the arm
// decided on. A customer assigned while it ran keeps the time of that assignment; the
// others are served since the decision.
func (as *assigner) rollOut(ctx context.Context, e Experiment, ids []string) ([]Assignment, error) {
	d := e.Decision
	if d == nil {
		return nil, Errorf(Internal, "experiment %q is decided without a decision", e.Key)
	}
	stored := make([]Assignment, len(ids))
	var missing []string
	var at []int
	for i, id := range ids {
		if a, ok := as.sticky.get(e, id); ok {
			stored[i] = a
		} else {
			missing, at = append(missing, id), append(at, i)
		}
	}
	if len(missing) > 0 {
		found, err := as.store.Assignments(ctx, e.ID, missing)
		if err != nil {
			return nil, err
		}
		for j, i := range at {
			a, ok := found[missing[j]]
			if !ok {
				// No arm: the customer has no stored assignment, which stays so (nothing is
				// stored once decided), so it is cached too.
				a = Assignment{CustomerID: missing[j]}
			}
			as.sticky.put(e, a)
			stored[i] = a
		}
	}
	out := make([]Assignment, len(ids))
	for i, a := range stored {
		since := a.AssignedAt
		if a.Arm == "" {
			since = d.DecidedAt
		}
		out[i] = Assignment{CustomerID: ids[i], Arm: d.Arm, AssignedAt: since, Decided: true}
	}
	return out, nil
}

// forget drops a cached experiment (it changed status in this process or was found
// stopped by the store); a read of it in flight is not kept.
func (as *assigner) forget(key string) {
	as.mu.Lock()
	if f, ok := as.experiments[key]; ok {
		f.invalidate()
		delete(as.experiments, key)
	}
	as.mu.Unlock()
}

// forgetAll drops every cached experiment (an erasure changed their erasure counts).
func (as *assigner) forgetAll() {
	as.mu.Lock()
	for _, f := range as.experiments {
		f.invalidate()
	}
	clear(as.experiments)
	as.mu.Unlock()
}

func notRunning(e Experiment) error {
	return Errorf(Conflict, "experiment %q is %s; customers are assigned while it is running and served the decided arm once it is decided", e.Key, e.Status).
		With(Detail{Field: "status", Message: string(e.Status)})
}

// assign returns the assignments of customers of a running experiment, in order. inline
// attributes (may be nil) stand in for stored ones in the eligibility rules.
func (as *assigner) assign(ctx context.Context, e Experiment, ids []string, inline map[string]string) ([]Assignment, error) {
	out := make([]Assignment, len(ids))
	var missing []int
	for i, id := range ids {
		// Coverage only grows while an experiment runs and layer ranges are fixed, so a
		// customer not admitted now was never assigned: nothing to look up or store.
		if !e.Admits(id) {
			out[i] = Assignment{CustomerID: id, Reason: NotAdmitted}
			continue
		}
		// An entry without an arm is a decided experiment's "not assigned": a copy read
		// before the decision asks the store, which finds it no longer running.
		if a, ok := as.sticky.get(e, id); ok && a.Arm != "" {
			out[i] = a
		} else {
			missing = append(missing, i)
		}
	}
	if len(missing) > 0 && len(e.Eligibility) > 0 {
		var err error
		if missing, err = as.eligible(ctx, e, ids, missing, out, inline); err != nil {
			return nil, err
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	if len(ids) > 1 || len(missing) > 1 {
		// A batch is already a group: one statement for all of it.
		list := make([]Assignment, len(missing))
		for j, i := range missing {
			list[j] = Assignment{CustomerID: ids[i], Arm: AssignArm(e.Salt, ids[i], e.Arms)}
		}
		stored, err := as.store.Assign(ctx, e, list)
		if err != nil {
			as.storeFailed(e, err)
			return nil, err
		}
		for j, i := range missing {
			out[i] = stored[j]
			as.sticky.put(e, stored[j])
		}
		return out, nil
	}
	i := missing[0]
	req := &assignRequest{ctx: ctx, e: e, done: make(chan assignResult, 1),
		a: Assignment{CustomerID: ids[i], Arm: AssignArm(e.Salt, ids[i], e.Arms)}}
	if err := as.enqueue(req); err != nil {
		return nil, err
	}
	select {
	case r := <-req.done:
		if r.err != nil {
			return nil, r.err
		}
		out[i] = r.a
		return out, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// eligible keeps the customers (indexes into ids) that pass the eligibility rules; the others
// get their stored assignment if they have one (rules may have changed since), else no arm.
func (as *assigner) eligible(ctx context.Context, e Experiment, ids []string, missing []int, out []Assignment, inline map[string]string) ([]int, error) {
	reader, ok := as.store.(AttributeReader)
	if !ok {
		return nil, Errorf(Internal, "the store cannot read customer attributes")
	}
	names := ruleAttributes(e.Eligibility)
	list := make([]string, len(missing))
	for j, i := range missing {
		list[j] = ids[i]
	}
	stored, err := reader.CustomerAttributes(ctx, list, names)
	if err != nil {
		return nil, err
	}
	var keep, out2 []int
	for _, i := range missing {
		attrs := stored[ids[i]]
		if len(inline) > 0 {
			merged := map[string]string{}
			for k, v := range attrs {
				merged[k] = v
			}
			for k, v := range inline {
				merged[k] = v
			}
			attrs = merged
		}
		if Eligible(e.Eligibility, attrs) {
			keep = append(keep, i)
		} else {
			out2 = append(out2, i)
		}
	}
	if len(out2) > 0 {
		list := make([]string, len(out2))
		for j, i := range out2 {
			list[j] = ids[i]
		}
		found, err := as.store.Assignments(ctx, e.ID, list)
		if err != nil {
			return nil, err
		}
		for _, i := range out2 {
			if a, ok := found[ids[i]]; ok {
				out[i] = a
				as.sticky.put(e, a)
			} else {
				out[i] = Assignment{CustomerID: ids[i], Reason: NotEligible}
			}
		}
	}
	return keep, nil
}

func (as *assigner) storeFailed(e Experiment, err error) {
	if ErrorCode(err) == Conflict {
		as.forget(e.Key)
	}
}

// enqueue hands a new assignment to its experiment's lane, starting the lane if needed. A
// full lane (the database is far behind) refuses it rather than queueing without bound.
func (as *assigner) enqueue(req *assignRequest) error {
	as.mu.Lock()
	defer as.mu.Unlock()
	if as.closed {
		return errClosed
	}
	l := as.lanes[req.e.ID]
	if l == nil {
		l = &lane{queue: make(chan *assignRequest, 4*maxGroup)}
		as.lanes[req.e.ID] = l
		as.workers.Add(1)
		go as.work(req.e.ID, l)
	}
	select {
	case l.queue <- req:
		return nil
	default:
		return errQueued
	}
}

// work takes whatever requests of one experiment are queued, up to maxGroup, and stores them
// with one statement. One group is in flight at a time per experiment: the requests that
// arrive during its commit form the next group, so under load groups grow with the commit
// latency instead of commits multiplying (fewer, larger transactions are what the database
// does fastest). A lane idle for laneIdle ends; close ends them all.
func (as *assigner) work(id int64, l *lane) {
	defer as.workers.Done()
	idle := time.NewTimer(as.laneIdle)
	defer idle.Stop()
	for {
		select {
		case first := <-l.queue:
			group := []*assignRequest{first}
		drain:
			for len(group) < maxGroup {
				select {
				case r := <-l.queue:
					group = append(group, r)
				default:
					break drain
				}
			}
			if observe := as.batch.Load(); observe != nil {
				(*observe)(len(group))
			}
			live := group[:0]
			for _, r := range group {
				if r.ctx.Err() != nil {
					r.done <- assignResult{err: r.ctx.Err()}
					continue
				}
				live = append(live, r)
			}
			if len(live) > 0 {
				as.commit(live)
			}
			idle.Reset(as.laneIdle)
		case <-idle.C:
			as.mu.Lock()
			if len(l.queue) == 0 {
				delete(as.lanes, id)
				as.mu.Unlock()
				return
			}
			as.mu.Unlock()
			idle.Reset(as.laneIdle)
		case <-as.closing:
			return // close fails what is still queued
		}
	}
}

func (as *assigner) commit(reqs []*assignRequest) {
	e := reqs[0].e
	list := make([]Assignment, len(reqs))
	for i, r := range reqs {
		list[i] = r.a
	}
	// The group outlives any one caller's context: others wait for the same commit.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stored, err := as.store.Assign(ctx, e, list)
	if err != nil {
		as.storeFailed(e, err)
		for _, r := range reqs {
			r.done <- assignResult{err: err}
		}
		return
	}
	for i, r := range reqs {
		as.sticky.put(e, stored[i])
		r.done <- assignResult{a: stored[i]}
	}
}

// stickyCache remembers stored assignments and, for decided experiments, which customers
// have none (an entry without an arm). It keeps two generations of at most half the
// capacity each: a lookup in the older one promotes the entry, and when the newer one is
// full the older one is dropped, so recently used assignments stay.
//
// An entry holds only while the experiment's erasure count is the one it was stored under:
// an erasure on any instance moves the count, and this instance sees the new count in its
// next copy of the experiment (at most statusTTL old), so it asks the store again instead of
// answering for an assignment that no longer carries the customer's id.
type stickyCache struct {
	mu       sync.Mutex
	half     int
	cur, old map[stickyKey]stickyEntry
}

type stickyEntry struct {
	a        Assignment
	erasures int64
}

type stickyKey struct {
	experiment int64
	customer   string
}

func newStickyCache(capacity int) *stickyCache {
	return &stickyCache{half: max(1, capacity/2), cur: map[stickyKey]stickyEntry{}, old: map[stickyKey]stickyEntry{}}
}

// get returns the cached assignment of a customer in e, if it was cached under e's erasure
// count.
func (c *stickyCache) get(e Experiment, customerID string) (Assignment, bool) {
	k := stickyKey{e.ID, customerID}
	c.mu.Lock()
	defer c.mu.Unlock()
	if x, ok := c.cur[k]; ok {
		if x.erasures != e.Erasures {
			return Assignment{}, false
		}
		return x.a, true
	}
	x, ok := c.old[k]
	if ok && x.erasures == e.Erasures {
		c.putLocked(k, x)
		return x.a, true
	}
	return Assignment{}, false
}

// put caches a stored assignment under the erasure count of the copy of e that the request
// storing or reading it started with (read before the store's statement).
func (c *stickyCache) put(e Experiment, a Assignment) {
	a.New = false // a cached answer is by definition a repeat
	c.mu.Lock()
	c.putLocked(stickyKey{e.ID, a.CustomerID}, stickyEntry{a, e.Erasures})
	c.mu.Unlock()
}

func (c *stickyCache) putLocked(k stickyKey, x stickyEntry) {
	if len(c.cur) >= c.half {
		c.old, c.cur = c.cur, make(map[stickyKey]stickyEntry, c.half)
	}
	c.cur[k] = x
}

// drop forgets a customer everywhere (erasure).
func (c *stickyCache) drop(customerID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range []map[stickyKey]stickyEntry{c.cur, c.old} {
		for k := range m {
			if k.customer == customerID {
				delete(m, k)
			}
		}
	}
}
