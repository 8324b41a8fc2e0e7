package protocol

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/clicktrail/clicktrail/processor/protocol/protocoltest"
	"github.com/clicktrail/clicktrail/schemas"
)

// checkpoint runs a checkpoint of z and reads its commits back, as the pipeline does
// right after writing them, and returns them.
func checkpoint(t *testing.T, z *Sessionizer) []*Commit {
	t.Helper()
	cp := z.Checkpoint()
	for _, c := range cp.Commits {
		if _, ok := z.Evaluate(c); !ok {
			t.Fatalf("own commit %d did not count", c.Seq)
		}
	}
	return cp.Commits
}

// roundTrip encodes and decodes a commit, as it travels on the session-state topic
// (its shard in a property).
func roundTrip(t *testing.T, c *Commit) *Commit {
	t.Helper()
	b, err := AppendCommit(nil, c)
	if err != nil {
		t.Fatal(err)
	}
	out, err := DecodeCommit(b, func(s string) string { return s })
	if err != nil {
		t.Fatal(err)
	}
	out.Shard = c.Shard
	return out
}

// play evaluates a log of commits in order, as z reads the session-state topic: its
// own commits as it holds them, the others' decoded. It returns the aggregates of the
// commits that count.
func play(t *testing.T, z *Sessionizer, log []*Commit) []*Aggregate {
	t.Helper()
	var out []*Aggregate
	for _, c := range log {
		if c.Writer != z.self {
			c = roundTrip(t, c)
		}
		if a, ok := z.Evaluate(c); ok {
			out = append(out, a)
		}
	}
	return out
}

func TestEvaluatingCommits(t *testing.T) {
	pos := func(entry int64) *Position { return &Position{Ledger: 1, Entry: entry} }
	events := func(writer string, base, at int64) *Commit {
		return &Commit{Writer: writer, Seq: uint64(at), Records: []Record{{Key: "anon-1", Tenant: "acme", Base: pos(base), Pos: pos(at), Events: true,
			Open: &openSession{Session: schemas.Session{SessionID: "s1", EventCount: int(at)}}}}}
	}
	closes := func(writer string, at int64) *Commit {
		return &Commit{Writer: writer, Seq: 100 + uint64(at), Records: []Record{{Key: "anon-1", Tenant: "acme", Pos: pos(at),
			Ended: []sessionEnd{{ID: "s1", Minute: t0.Unix(), DurationMs: 60000}}}}}
	}
	tests := []struct {
		name       string
		log        []*Commit
		wantCount  []bool
		wantHeld   int // event count of the session held afterwards; -1: none
		wantEnded  int64
		wantCommit int64 // committed position afterwards
	}{
		{"another writer's commit from the committed position counts and replaces what is held",
			[]*Commit{events("b", 2, 3)}, []bool{true}, 3, 0, 3},
		{"a commit from an outdated position does not count",
			[]*Commit{events("b", 1, 3)}, []bool{false}, 2, 0, 2},
		{"of two writers starting from the same position, the first counts",
			[]*Commit{events("b", 2, 3), events("c", 2, 4)}, []bool{true, false}, 3, 0, 3},
		{"a close of the committed state counts",
			[]*Commit{closes("b", 2)}, []bool{true}, -1, 1, 2},
		{"a close of a state that has moved on is ignored",
			[]*Commit{events("b", 2, 3), closes("c", 2)}, []bool{true, true}, 3, 0, 3},
		{"a session closed by two writers ends once",
			[]*Commit{closes("b", 2), closes("c", 2)}, []bool{true, true}, -1, 1, 2},
		{"this instance's own commit counts and changes nothing held",
			[]*Commit{events("me", 2, 9)}, []bool{true}, 2, 0, 9},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			z := NewSessionizer(DefaultSessionRules(), "me", (&clock{t0}).Now)
			z.Add(ev{0, "m1", "", "/", "", "", ""}.Event(), pos(1))
			z.Add(ev{time.Minute, "m2", "", "/", "", "", ""}.Event(), pos(2))
			closedBy(z)
			var counted []bool
			var ended int64
			for _, c := range tc.log {
				if c.Writer != "me" {
					c = roundTrip(t, c)
				}
				a, ok := z.Evaluate(c)
				counted = append(counted, ok)
				if ok {
					for _, m := range a.Minutes {
						ended += m.SessionsEnded
					}
				}
			}
			if fmt.Sprint(counted) != fmt.Sprint(tc.wantCount) {
				t.Errorf("counted %v, want %v", counted, tc.wantCount)
			}
			held := -1
			if s := z.keys["anon-1"].open; s != nil {
				held = s.EventCount
			}
			if held != tc.wantHeld || ended != tc.wantEnded || z.keys["anon-1"].cpos.Entry != tc.wantCommit {
				t.Errorf("holds a session of %d events, counted %d ends, committed position %d; want %d, %d, %d",
					held, ended, z.keys["anon-1"].cpos.Entry, tc.wantHeld, tc.wantEnded, tc.wantCommit)
			}
		})
	}
}

// A checkpoint holding more state than one message takes is written as several
// commits, each atomic on its own, which together count every event once.
func TestALargeCheckpointIsWrittenAsSeveralCommits(t *testing.T) {
	z := NewSessionizer(DefaultSessionRules(), "me", (&clock{t0}).Now)
	const keys = 30_000
	for i := range keys {
		e := ev{time.Duration(i) * time.Millisecond, fmt.Sprint("m", i), "", "/landing", "https://news.example/" + fmt.Sprintf("%0100d", i), "", ""}.Event()
		e.AnonymousID = fmt.Sprint("anon-", i)
		z.Add(e, &Position{Ledger: 1, Entry: int64(i)})
	}
	commits := z.Checkpoint().Commits
	if len(commits) < 2 {
		t.Fatalf("%d commits, want several", len(commits))
	}
	var events, started int64
	reader := NewSessionizer(DefaultSessionRules(), "reader", (&clock{t0}).Now)
	for _, c := range commits {
		b, err := AppendCommit(nil, c)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > maxCommitBytes {
			t.Errorf("commit %d is %d bytes, over %d", c.Seq, len(b), maxCommitBytes)
		}
		if _, ok := z.Evaluate(c); !ok {
			t.Fatalf("own commit %d does not count", c.Seq)
		}
		a, ok := reader.Evaluate(roundTrip(t, c))
		if !ok {
			t.Fatalf("commit %d does not count for a reader", c.Seq)
		}
		for _, m := range a.Minutes {
			events += m.TotalEvents()
			started += m.SessionsStarted
		}
	}
	if events != keys || started != keys || reader.Open() != keys {
		t.Errorf("the commits count %d events and %d sessions, the reader holds %d; want %d each", events, started, reader.Open(), keys)
	}
}

// feeder drives a sessionizer as the pipeline does: it checkpoints when
// NeedsCheckpoint asks (unless ignore), and reads every commit back; a reader counts
// what the commits hold, decoded, as another instance would.
type feeder struct {
	t        *testing.T
	z        *Sessionizer
	reader   *Sessionizer
	ignore   bool
	entry    int64
	commits  int
	largest  int
	bytes    int
	events   int64
	ended    int64
	closed   int
	messages int
}

func newFeeder(t *testing.T, rules SessionRules, now time.Time) *feeder {
	clk := &clock{now}
	return &feeder{t: t, z: NewSessionizer(rules, "me", clk.Now), reader: NewSessionizer(rules, "reader", clk.Now)}
}

func (f *feeder) add(e *schemas.Event) Outcome {
	f.entry++
	out := f.z.Add(e, &Position{Ledger: 1, Entry: f.entry})
	if !f.ignore && f.z.NeedsCheckpoint() {
		f.checkpoint()
	}
	return out
}

func (f *feeder) checkpoint() {
	f.t.Helper()
	cp := f.z.Checkpoint()
	f.closed += len(cp.Closed)
	for _, c := range cp.Commits {
		b, err := AppendCommit(nil, c)
		if err != nil {
			f.t.Fatal(err)
		}
		if len(b) > maxCommitBytes {
			f.t.Errorf("commit %d encodes to %d bytes, over %d", c.Seq, len(b), maxCommitBytes)
		}
		f.commits++
		f.bytes += len(b)
		f.largest = max(f.largest, len(b))
		if _, ok := f.z.Evaluate(c); !ok {
			f.t.Fatalf("own commit %d does not count", c.Seq)
		}
		d, err := DecodeCommit(b, func(s string) string { return s })
		if err != nil {
			f.t.Fatal(err)
		}
		a, ok := f.reader.Evaluate(d)
		if !ok {
			f.t.Fatalf("commit %d does not count for a reader", c.Seq)
		}
		for _, m := range a.Minutes {
			f.events += m.TotalEvents()
			f.ended += m.SessionsEnded
			for _, mp := range m.Dims() {
				if len(*mp) > MaxDistinctValues+1 {
					f.t.Errorf("a dimension of %d values in a commit", len(*mp))
				}
				for v := range *mp {
					if len(v) > MaxValueBytes {
						f.t.Errorf("a value of %d bytes in a commit", len(v))
					}
				}
			}
		}
		for _, part := range SplitAggregate(a) {
			b, err := json.Marshal(part)
			if err != nil {
				f.t.Fatal(err)
			}
			if len(b) > MaxAggregateBytes {
				f.t.Errorf("a part of an aggregate takes %d bytes, over %d", len(b), MaxAggregateBytes)
			}
			f.messages++
		}
	}
}

// Commits are cut by their encoded size: each is at most maxCommitBytes whatever the
// events hold, including many events of one key with long values, which no cut between
// keys could bound; and they count every event.
func TestCommitsStayWithinTheLimitWhateverTheContent(t *testing.T) {
	base := t0
	tests := []struct {
		name        string
		feed        func(f *feeder)
		events      int64
		wantCommits int // at least
	}{
		{"the reported case: 280 page events of one key with 30,000-character paths", func(f *feeder) {
			for i := range 280 {
				e := ev{time.Duration(i) * 100 * time.Millisecond, fmt.Sprint("m", i), "", fmt.Sprintf("/%03d/", i) + strings.Repeat("p", 30_000-5), "", "", ""}.Event()
				f.add(e)
			}
		}, 280, 1},
		{"one key with 20,000 events of distinct long values in every dimension", func(f *feeder) {
			for i := range 20_000 {
				f.add(protocoltest.Hostile("anon-1", i, 1000, base))
			}
		}, 20_000, 4},
		{"5,000 keys with long values", func(f *feeder) {
			for i := range 5000 {
				f.add(protocoltest.Hostile(fmt.Sprint("anon-", i), i, 1000, base))
			}
		}, 5000, 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFeeder(t, DefaultSessionRules(), base.Add(time.Hour))
			tc.feed(f)
			f.checkpoint()
			if c := f.z.TakeCounters(); c.Refused != 0 {
				t.Errorf("%d events refused, want none", c.Refused)
			}
			if f.events != tc.events || f.commits < tc.wantCommits {
				t.Errorf("%d commits count %d events; want at least %d commits and %d events", f.commits, f.events, tc.wantCommits, tc.events)
			}
			t.Logf("%d events in %d commits (largest %d bytes, %.0f%% full on average), %d aggregate messages",
				tc.events, f.commits, f.largest, 100*float64(f.bytes)/float64(f.commits*maxCommitBytes), f.messages)
		})
	}
}

// A caller that does not checkpoint when asked lets one key's part outgrow a commit:
// its record is still committed (its events are acknowledged, never retried into the
// same commit), its contributions are left out and counted as refused.
func TestAKeyTooLargeForACommitIsCommittedWithoutItsContributions(t *testing.T) {
	f := newFeeder(t, DefaultSessionRules(), t0.Add(time.Hour))
	f.ignore = true
	f.add(ev{0, "small", "", "/", "", "", ""}.Event()) // anon-1
	for i := range 10_000 {
		f.add(protocoltest.Hostile("anon-2", i, 1000, t0))
	}
	if !f.z.NeedsCheckpoint() {
		t.Fatal("NeedsCheckpoint does not ask for a checkpoint")
	}
	f.checkpoint()
	c := f.z.TakeCounters()
	if c.Refused != 10_000 || f.events != 1 {
		t.Errorf("%d events refused and %d counted, want 10,000 and 1", c.Refused, f.events)
	}
	if f.reader.keys["anon-2"] == nil || f.reader.keys["anon-2"].cpos.Entry != 10_001 {
		t.Errorf("the key's record was not committed")
	}
	if f.z.NeedsCheckpoint() {
		t.Errorf("NeedsCheckpoint still asks after the checkpoint")
	}
}

// Two instances expiring the same orphaned key both publish its close; whoever reads
// the session-state topic counts it once.
func TestASessionClosedByTwoInstancesIsCountedOnce(t *testing.T) {
	clk := &clock{t0}
	owner := NewSessionizer(DefaultSessionRules(), "owner", clk.Now)
	b := NewSessionizer(DefaultSessionRules(), "b", clk.Now)
	c := NewSessionizer(DefaultSessionRules(), "c", clk.Now)
	d := NewSessionizer(DefaultSessionRules(), "d", clk.Now) // reads only
	owner.Add(ev{0, "m1", "", "/", "", "", ""}.Event(), &Position{Ledger: 1})
	log := checkpoint(t, owner)
	for _, z := range []*Sessionizer{b, c, d} {
		play(t, z, log)
	}
	// The owner left; b and c both expire the key, before reading each other's close.
	clk.T = clk.T.Add(time.Hour)
	b.Expire()
	c.Expire()
	cb, cc := b.Checkpoint(), c.Checkpoint()
	if len(cb.Closed) != 1 || len(cc.Closed) != 1 {
		t.Fatalf("b closed %d sessions and c %d, want 1 each", len(cb.Closed), len(cc.Closed))
	}
	log = append(cb.Commits, cc.Commits...)
	for _, z := range []*Sessionizer{b, c, d} {
		var ended, bounces int64
		for _, a := range play(t, z, log) {
			for _, m := range a.Minutes {
				ended, bounces = ended+m.SessionsEnded, bounces+m.Bounces
			}
		}
		if ended != 1 || bounces != 1 {
			t.Errorf("%s counts %d ended sessions and %d bounces, want 1 and 1", z.self, ended, bounces)
		}
	}
}
