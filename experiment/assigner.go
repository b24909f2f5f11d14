package experiment

import (
	"context"
	"fmt"
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
//   - new assignments from concurrent requests are grouped into one multi-row insert (group
//     commit), and each caller is answered only after that insert has committed.
type assigner struct {
	store     Store
	statusTTL time.Duration
	now       func() time.Time

	mu          sync.Mutex
	experiments map[string]*fresh[Experiment]
	sticky      *stickyCache

	queue chan *assignRequest
	start sync.Once
	batch atomic.Pointer[func(size int)] // observes group-commit batch sizes
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

func newAssigner(store Store) *assigner {
	return &assigner{
		store:       store,
		statusTTL:   time.Second,
		now:         time.Now,
		experiments: map[string]*fresh[Experiment]{},
		sticky:      newStickyCache(stickyCapacity),
		queue:       make(chan *assignRequest, 4*maxGroup),
	}
}

// experiment returns the definition of a running experiment, from the cache when it was
// read less than StatusTTL ago (see fresh: renewed in the background before then, and read
// once for all the requests that find no copy).
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
	if err == nil && e.Status == Running {
		return e, nil
	}
	// Only running experiments are kept: the others, and unknown keys, are read again. A
	// caller that gave up, or a failed read, leaves the entry to the others.
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
	return &Error{Code: Conflict, Message: fmt.Sprintf("experiment %q is %s; customers are only assigned while it is running", e.Key, e.Status),
		Details: []Detail{{Field: "status", Message: string(e.Status)}}}
}

// assign returns the assignments of customers of a running experiment, in order. inline
// attributes (may be nil) stand in for stored ones in the eligibility rules.
func (as *assigner) assign(ctx context.Context, e Experiment, ids []string, now time.Time, inline map[string]string) ([]Assignment, error) {
	out := make([]Assignment, len(ids))
	var missing []int
	for i, id := range ids {
		// Coverage only grows while an experiment runs and layer ranges are fixed, so a
		// customer not admitted now was never assigned: nothing to look up or store.
		if !e.Admits(id) {
			out[i] = Assignment{CustomerID: id, Reason: NotAdmitted}
			continue
		}
		if a, ok := as.sticky.get(e.ID, id); ok {
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
			list[j] = Assignment{CustomerID: ids[i], Arm: AssignArm(e.Salt, ids[i], e.Arms), AssignedAt: now}
		}
		stored, err := as.store.Assign(ctx, e, list)
		if err != nil {
			as.storeFailed(e, err)
			return nil, err
		}
		for j, i := range missing {
			out[i] = stored[j]
			as.sticky.put(e.ID, stored[j])
		}
		return out, nil
	}
	as.start.Do(func() { go as.work() })
	i := missing[0]
	req := &assignRequest{ctx: ctx, e: e, done: make(chan assignResult, 1),
		a: Assignment{CustomerID: ids[i], Arm: AssignArm(e.Salt, ids[i], e.Arms), AssignedAt: now}}
	select {
	case as.queue <- req:
	case <-ctx.Done():
		return nil, ctx.Err()
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
	for _, i := range out2 {
		a, err := as.store.Assignment(ctx, e.ID, ids[i])
		switch {
		case err == nil:
			out[i] = a
			as.sticky.put(e.ID, a)
		case ErrorCode(err) == NotFound:
			out[i] = Assignment{CustomerID: ids[i], Reason: NotEligible}
		default:
			return nil, err
		}
	}
	return keep, nil
}

func (as *assigner) storeFailed(e Experiment, err error) {
	if ErrorCode(err) == Conflict {
		as.forget(e.Key)
	}
}

// work takes whatever requests are queued, up to maxGroup, and stores them with one
// statement per experiment; the experiments of a group commit concurrently. One group is in
// flight at a time: the requests that arrive during its commit form the next group, so under
// load groups grow with the commit latency instead of commits multiplying (fewer, larger
// transactions are what the database does fastest).
func (as *assigner) work() {
	for first := range as.queue {
		group := []*assignRequest{first}
	drain:
		for len(group) < maxGroup {
			select {
			case r := <-as.queue:
				group = append(group, r)
			default:
				break drain
			}
		}
		if observe := as.batch.Load(); observe != nil {
			(*observe)(len(group))
		}
		byExperiment := map[int64][]*assignRequest{}
		for _, r := range group {
			if r.ctx.Err() != nil {
				r.done <- assignResult{err: r.ctx.Err()}
				continue
			}
			byExperiment[r.e.ID] = append(byExperiment[r.e.ID], r)
		}
		var wg sync.WaitGroup
		for _, reqs := range byExperiment {
			wg.Go(func() { as.commit(reqs) })
		}
		wg.Wait()
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
		as.sticky.put(e.ID, stored[i])
		r.done <- assignResult{a: stored[i]}
	}
}

// stickyCache remembers stored assignments. It keeps two generations of at most half the
// capacity each: a lookup in the older one promotes the entry, and when the newer one is
// full the older one is dropped, so recently used assignments stay.
type stickyCache struct {
	mu       sync.Mutex
	half     int
	cur, old map[stickyKey]Assignment
}

type stickyKey struct {
	experiment int64
	customer   string
}

func newStickyCache(capacity int) *stickyCache {
	return &stickyCache{half: max(1, capacity/2), cur: map[stickyKey]Assignment{}, old: map[stickyKey]Assignment{}}
}

func (c *stickyCache) get(experimentID int64, customerID string) (Assignment, bool) {
	k := stickyKey{experimentID, customerID}
	c.mu.Lock()
	defer c.mu.Unlock()
	if a, ok := c.cur[k]; ok {
		return a, true
	}
	a, ok := c.old[k]
	if ok {
		c.putLocked(k, a)
	}
	return a, ok
}

func (c *stickyCache) put(experimentID int64, a Assignment) {
	a.New = false // a cached answer is by definition a repeat
	c.mu.Lock()
	c.putLocked(stickyKey{experimentID, a.CustomerID}, a)
	c.mu.Unlock()
}

func (c *stickyCache) putLocked(k stickyKey, a Assignment) {
	if len(c.cur) >= c.half {
		c.old, c.cur = c.cur, make(map[stickyKey]Assignment, c.half)
	}
	c.cur[k] = a
}

// drop forgets a customer everywhere (erasure).
func (c *stickyCache) drop(customerID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range []map[stickyKey]Assignment{c.cur, c.old} {
		for k := range m {
			if k.customer == customerID {
				delete(m, k)
			}
		}
	}
}
