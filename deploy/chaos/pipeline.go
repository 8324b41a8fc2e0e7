package chaos

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/clicktrail/clicktrail/processor"
	"github.com/clicktrail/clicktrail/schemas"
)

// Component is a broker or an object store the suite owns and may stop and start
// again (testenv.PrivateBroker, testenv.PrivateS3).
type Component interface {
	Stop() error
	Start() error
}

// Pipeline is the running system under test.
type Pipeline struct {
	Collector, Processor, Archiver *Service
	// Tenant and ReadKey query the processor's stats; EventsTopic is the events topic.
	Tenant, ReadKey, EventsTopic string
	// AdminURLs are the brokers' admin endpoints (one for a standalone broker), asked in
	// turn.
	AdminURLs []string
	Lake      *Lake
	Load      *Load
	Tap       *Tap
	// Logf reports progress (t.Logf).
	Logf func(format string, args ...any)

	// lostIDs are accepted events found lost (see lost): the waits stop waiting for
	// them, and the final checks report them as missing.
	lostIDs map[string]bool
}

// Services lists the three services.
func (p *Pipeline) Services() []*Service {
	return []*Service{p.Collector, p.Processor, p.Archiver}
}

// statsRange is a range of stats that holds every event of the run.
func (p *Pipeline) statsRange() (from, to time.Time) {
	return p.Load.Started.Add(-time.Hour), time.Now().Add(time.Hour)
}

// Stats asks the processor for the aggregates of the whole run.
func (p *Pipeline) Stats(ctx context.Context) (processor.Stats, error) {
	from, to := p.statsRange()
	return FetchStats(ctx, p.Processor.Addr, p.Tenant, p.ReadKey, from, to)
}

// Fault is one disturbance of the pipeline.
type Fault struct {
	Name string
	// Inject does the fault and brings the component back: it returns once the
	// component was started again.
	Inject func(ctx context.Context) error
	// Pending, when set, says what the fault itself still waits for before the
	// pipeline counts as recovered ("" when nothing), e.g. that the services use a
	// partition it added.
	Pending func(ctx context.Context) string
}

// KillAndRestart SIGKILLs a service and starts it again at once. When busy is set,
// the kill waits for a moment it reports true (at most 10 s, then kills anyway).
func KillAndRestart(s *Service, busy func() bool) Fault {
	name := "SIGKILL " + s.Name
	return Fault{Name: name, Inject: func(context.Context) error {
		if busy != nil {
			for deadline := time.Now().Add(10 * time.Second); !busy() && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
		}
		if err := s.Kill(); err != nil {
			return err
		}
		return s.Start()
	}}
}

// Publishing reports whether the collector holds messages handed to Pulsar and not
// yet acknowledged: killed then, it leaves requests unanswered that the clients must
// retry. (Pulsar may even have stored their events, if the kill falls between the
// broker's write and the answer: a narrow window, so such copies are rare here; a
// broker restart makes many.)
func Publishing(collector *Service) func() bool {
	return func() bool {
		v, err := collector.Metric("clicktrail_collector_pending_messages")
		return err == nil && v > 0
	}
}

// StopFor stops a component, waits down, and starts it again.
func StopFor(name string, c Component, down time.Duration) Fault {
	return Fault{Name: fmt.Sprintf("stop %s %s", name, down), Inject: func(ctx context.Context) error {
		if err := c.Stop(); err != nil {
			return fmt.Errorf("stop %s: %w", name, err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(down):
		}
		if err := c.Start(); err != nil {
			return fmt.Errorf("start %s again: %w", name, err)
		}
		return nil
	}}
}

// Outcome is what one fault did.
type Outcome struct {
	Fault string
	// Start is when the fault began, Back when the component was started again, and
	// Recovered when the pipeline had recovered (zero if it did not). Resumed is when
	// the pipeline, still within the fault, had again accepted a request sent after
	// Start, processed and stored every event accepted before Start, and had what the
	// fault waits for (Fault.Pending): a cluster goes on without the component it lost.
	Start, Back, Resumed, Recovered time.Time
	// Refused counts requests refused (no answer, 5xx, 429) from Start to Recovered,
	// out of Requests attempts; P99 is the 99th percentile of their answer times.
	Refused, Requests int
	P99               time.Duration
	Err               error

	// Filled in by Attribute after the run, for the events accepted from Start to the
	// next fault's Start.
	Accepted, Copies, Missing, Duplicates int
	AggregatesEqual                       bool
}

// Run injects f and waits, by polling, until the pipeline recovered: every service
// ready, the collector answering 200 again, the processor counting and the lake
// holding every event accepted before the component came back, except those found
// lost (acknowledged by the archiver and not in the lake: they are reported, and not
// waited for), and what f itself waits for. While f is under way it also polls for the
// moment the pipeline resumed (see Outcome.Resumed).
func (p *Pipeline) Run(ctx context.Context, f Fault, limit time.Duration) Outcome {
	o := Outcome{Fault: f.Name, Start: time.Now()}
	p.Logf("fault: %s (%d events accepted so far)", f.Name, p.Load.AcceptedCount())
	injected := make(chan error, 1)
	go func() { injected <- f.Inject(ctx) }()
	deadline := time.Now().Add(limit) // from the component's return once it is back
	before := p.Load.AcceptedBefore(o.Start)
	var want []string
	pending, resuming := "the fault is under way", ""
	nextLog := time.Now().Add(5 * time.Second)
	for {
		if o.Back.IsZero() {
			select {
			case err := <-injected:
				if err != nil {
					o.Err = err
					return o
				}
				o.Back = time.Now()
				deadline = o.Back.Add(limit)
				want = p.Load.AcceptedBefore(o.Back)
			default:
			}
		}
		if o.Resumed.IsZero() {
			if resuming = p.since(ctx, f, o.Start, before, !o.Back.IsZero()); resuming == "" {
				o.Resumed = time.Now()
				p.Logf("%s: resumed after %.1fs", f.Name, o.Resumed.Sub(o.Start).Seconds())
			}
		}
		if !o.Back.IsZero() {
			if pending = p.since(ctx, f, o.Back, want, true); pending == "" {
				break
			}
			p.noteLost(ctx, want)
		}
		if time.Now().After(nextLog) {
			if o.Resumed.IsZero() {
				p.Logf("%s: %.0fs since its start, not resumed: %s", f.Name, time.Since(o.Start).Seconds(), resuming)
			} else {
				p.Logf("%s: %.0fs since its start, waiting for: %s", f.Name, time.Since(o.Start).Seconds(), pending)
			}
			nextLog = nextLog.Add(5 * time.Second)
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			o.Err = fmt.Errorf("%s: not recovered within %s: %s", f.Name, limit, pending)
			o.Refused = p.Load.Refused(o.Start, time.Now())
			return o
		}
		time.Sleep(250 * time.Millisecond)
	}
	o.Recovered = time.Now()
	if o.Resumed.IsZero() {
		o.Resumed = o.Recovered
	}
	o.Refused = p.Load.Refused(o.Start, o.Recovered)
	o.Requests, o.P99 = p.Load.Answers(o.Start, o.Recovered)
	archDup, _ := p.Archiver.Metric("clicktrail_archiver_duplicates_total")
	procDup, _ := p.Processor.Metric(`clicktrail_processor_events_total{outcome="duplicate"`)
	p.Logf("recovered from %s after %.1fs (%d of %d requests refused, p99 %.2fs); repeats dropped since the last start: archiver %.0f, processor %.0f",
		f.Name, o.Recovered.Sub(o.Back).Seconds(), o.Refused, o.Requests, o.P99.Seconds(), archDup, procDup)
	return o
}

// since says what the pipeline still lacks to have recovered since t, or "": what
// pending checks, and what f waits for (only once back, its component returned).
func (p *Pipeline) since(ctx context.Context, f Fault, t time.Time, want []string, back bool) string {
	if s := p.pending(ctx, t, want); s != "" || f.Pending == nil {
		return s
	}
	if !back {
		return "the fault is under way"
	}
	return f.Pending(ctx)
}

// pending says what has not recovered yet since t, or "": every service ready, an
// attempt begun after t accepted, and the processor counting and the lake holding
// every event of want (less those found lost).
func (p *Pipeline) pending(ctx context.Context, t time.Time, want []string) string {
	var not []string
	for _, s := range p.Services() {
		if !s.Ready() {
			not = append(not, s.Name+" not ready")
		}
	}
	if len(not) > 0 {
		return strings.Join(not, ", ")
	}
	if !p.Load.AcceptedSent(t) {
		return "the collector has accepted no request sent since"
	}
	st, err := p.Stats(ctx)
	if err != nil {
		return "processor: " + err.Error()
	}
	if st.Totals.Events < int64(len(want)) {
		return fmt.Sprintf("the processor counts %d events of the %d accepted before", st.Totals.Events, len(want))
	}
	counts, err := p.Lake.Sync(ctx)
	if err != nil {
		return "lake: " + err.Error()
	}
	if missing := p.notInLake(counts, want); missing > 0 {
		return fmt.Sprintf("%d of the %d events accepted before are not in the lake yet", missing, len(want))
	}
	return ""
}

// notInLake counts the ids the lake's counts lack, leaving out those found lost.
func (p *Pipeline) notInLake(counts map[string]int, ids []string) int {
	n := 0
	for _, id := range ids {
		if counts[id] == 0 && !p.lostIDs[id] {
			n++
		}
	}
	return n
}

// noteLost adds the lost events among want to p.lostIDs, and says so.
func (p *Pipeline) noteLost(ctx context.Context, want []string) {
	if p.lostIDs == nil {
		p.lostIDs = map[string]bool{}
	}
	n := 0
	for _, id := range p.lost(ctx, want) {
		if !p.lostIDs[id] {
			p.lostIDs[id] = true
			n++
		}
	}
	if n > 0 {
		p.Logf("LOST: %d more accepted events (%d in all) were acknowledged by the archiver and are not in the lake", n, len(p.lostIDs))
	}
}

// Lost returns how many accepted events were found lost during the run.
func (p *Pipeline) Lost() int { return len(p.lostIDs) }

// lost returns the ids among want that the lake lacks although the archiver had
// acknowledged every copy of them in the events topic before the lake was read: the
// archiver acknowledges only what is stored, so they will never arrive.
func (p *Pipeline) lost(ctx context.Context, want []string) []string {
	counts, err := p.Lake.Sync(ctx)
	if err != nil {
		return nil
	}
	var absent []string
	for _, id := range want {
		if counts[id] == 0 && !p.lostIDs[id] {
			absent = append(absent, id)
		}
	}
	if len(absent) == 0 {
		return nil
	}
	acked, err := Acknowledged(ctx, p.AdminURLs, p.EventsTopic, schemas.SubscriptionArchiver)
	if err != nil {
		return nil
	}
	if counts, err = p.Lake.Sync(ctx); err != nil { // read after the positions
		return nil
	}
	var lost []string
	for _, id := range absent {
		if counts[id] > 0 {
			continue
		}
		copies := p.Tap.Positions(id)
		gone := len(copies) > 0
		for _, c := range copies {
			a := acked[c.Partition]
			if a.Ledger < c.Ledger || a.Ledger == c.Ledger && a.Entry < c.Entry {
				gone = false // not acknowledged yet: it may still come
			}
		}
		if gone {
			lost = append(lost, id)
		}
	}
	return lost
}

// Settle waits, after the load stopped, until both subscriptions have no backlog, the
// lake holds every accepted event, and the processor closed every session (its idle
// timeout) and serves the same totals twice in a row.
func (p *Pipeline) Settle(ctx context.Context, accepted []string, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var last processor.Stats
	pending := ""
	for {
		pending = p.settled(ctx, accepted, &last)
		if pending == "" {
			return nil
		}
		p.noteLost(ctx, accepted)
		select {
		case <-ctx.Done():
			return fmt.Errorf("the pipeline did not settle within %s: %s", limit, pending)
		case <-time.After(time.Second):
		}
	}
}

func (p *Pipeline) settled(ctx context.Context, accepted []string, last *processor.Stats) string {
	backlogs, err := Backlogs(ctx, p.AdminURLs, p.EventsTopic)
	if err != nil {
		return err.Error()
	}
	for _, sub := range []string{schemas.SubscriptionProcessor, schemas.SubscriptionArchiver, auditSubscription} {
		if b := backlogs[sub]; b != 0 {
			return fmt.Sprintf("subscription %s has a backlog of %d", sub, b)
		}
	}
	counts, err := p.Lake.Sync(ctx)
	if err != nil {
		return "lake: " + err.Error()
	}
	if missing := p.notInLake(counts, accepted); missing > 0 {
		return fmt.Sprintf("%d accepted events are not in the lake", missing)
	}
	st, err := p.Stats(ctx)
	if err != nil {
		return "processor: " + err.Error()
	}
	prev := *last
	*last = st
	switch {
	case st.Totals.SessionsEnded < st.Totals.Sessions:
		return fmt.Sprintf("%d of %d sessions still open", st.Totals.Sessions-st.Totals.SessionsEnded, st.Totals.Sessions)
	case st.Totals != prev.Totals:
		return "the processor's totals still change"
	}
	return ""
}
