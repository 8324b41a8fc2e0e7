package processor

import (
	"fmt"
	"testing"
	"time"

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

// roundTrip encodes and decodes a commit, as it travels on the session-state topic.
func roundTrip(t *testing.T, c *Commit) *Commit {
	t.Helper()
	b, err := appendCommit(nil, c)
	if err != nil {
		t.Fatal(err)
	}
	out, err := decodeCommit(b, func(s string) string { return s })
	if err != nil {
		t.Fatal(err)
	}
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
	pos := func(entry int64) *position { return &position{Ledger: 1, Entry: entry} }
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
			z := NewSessionizer(DefaultSessionRules(), "me", (&clock{t0}).now)
			z.Add(ev{0, "m1", "", "/", "", "", ""}.event(), pos(1))
			z.Add(ev{time.Minute, "m2", "", "/", "", "", ""}.event(), pos(2))
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
	z := NewSessionizer(DefaultSessionRules(), "me", (&clock{t0}).now)
	const keys = 30_000
	for i := range keys {
		e := ev{time.Duration(i) * time.Millisecond, fmt.Sprint("m", i), "", "/landing", "https://news.example/" + fmt.Sprintf("%0100d", i), "", ""}.event()
		e.AnonymousID = fmt.Sprint("anon-", i)
		z.Add(e, &position{Ledger: 1, Entry: int64(i)})
	}
	commits := z.Checkpoint().Commits
	if len(commits) < 2 {
		t.Fatalf("%d commits, want several", len(commits))
	}
	var events, started int64
	reader := NewSessionizer(DefaultSessionRules(), "reader", (&clock{t0}).now)
	for _, c := range commits {
		b, err := appendCommit(nil, c)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > maxCommitBytes*3/2 {
			t.Errorf("commit %d is %d bytes, over %d", c.Seq, len(b), maxCommitBytes*3/2)
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
