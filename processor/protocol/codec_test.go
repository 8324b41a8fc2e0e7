package protocol

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/axiomhq/hyperloglog"

	"github.com/clicktrail/clicktrail/schemas"
)

// A commit travels on the session-state topic in a binary form that keeps everything.
func TestACommitSurvivesEncoding(t *testing.T) {
	z := NewSessionizer(DefaultSessionRules(), "me", (&clock{t0.Add(time.Hour)}).Now)
	e := ev{0, "m1", "", "/landing", "https://news.example/", "news", "u-1"}.Event()
	e.Enrichment = &schemas.Enrichment{Browser: "Firefox", OS: "Linux", DeviceType: "desktop"}
	e.Source = "web"
	z.Add(e, &Position{Partition: 3, Ledger: 9, Entry: 4, Batch: 2})
	z.Add(ev{time.Minute, "m2", schemas.TypeTrack, "/landing", "", "", ""}.Event(), &Position{Partition: 3, Ledger: 9, Entry: 5})
	z.Add(ev{31 * time.Minute, "m3", "", "/again", "", "", ""}.Event(), &Position{Partition: 3, Ledger: 9, Entry: 6})
	c := z.Checkpoint().Commits[0]
	got := roundTrip(t, c)
	for _, v := range []*Commit{c, got} {
		for _, m := range v.Minutes {
			m.Visitors.Estimate() // the same form in both
		}
	}
	wj, _ := json.Marshal(c)
	gj, _ := json.Marshal(got)
	if string(wj) != string(gj) {
		t.Errorf("decoded commit differs\n got %s\nwant %s", gj, wj)
	}
	if len(got.Records) != 1 || len(got.Records[0].Ended) != 1 || got.Records[0].Open.Seen[0] != hashID("m3") {
		t.Errorf("decoded %+v", got.Records)
	}
	if _, err := DecodeCommit(wj, func(s string) string { return s }); err == nil {
		t.Errorf("JSON decoded as a commit")
	}
	b, _ := AppendCommit(nil, c)
	for cut := range len(b) {
		if _, err := DecodeCommit(b[:cut], func(s string) string { return s }); err == nil {
			t.Fatalf("a commit cut at %d of %d bytes decoded", cut, len(b))
		}
	}
}

// sizeRecord, which plans commits, is the size appendRecord writes.
func TestSizeRecordIsTheEncodedSize(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	text := func() string { return strings.Repeat("é", rng.IntN(3)*rng.IntN(300)) }
	for i := range 2000 {
		r := Record{Key: fmt.Sprint("anon-", i), Tenant: "acme", Events: i%2 == 0}
		if rng.IntN(3) > 0 {
			r.Base = &Position{Partition: int32(rng.IntN(100)), Ledger: rng.Int64(), Entry: int64(rng.IntN(1 << 30)), Batch: int32(rng.IntN(1000)) - 1}
		}
		if rng.IntN(3) > 0 {
			r.Pos = &Position{Ledger: int64(rng.IntN(1000)), Entry: -1}
		}
		if rng.IntN(4) > 0 {
			s := &openSession{Session: schemas.Session{
				SessionID: SessionID(r.Key, "m"), Source: text(), UserID: text(), AnonymousID: r.Key,
				StartedAt: t0.Add(-time.Duration(rng.IntN(1e6)) * time.Second), EndedAt: t0, EventCount: rng.IntN(1 << 20),
				PageviewCount: rng.IntN(100), EntryPage: text(), ExitPage: text(), Referrer: text(), Browser: text(), DeviceType: text(),
				Campaign: schemas.Campaign{Name: text(), Term: text()},
			}}
			if rng.IntN(2) == 0 {
				s.AnonymousID, s.SessionID = text(), text()
			}
			for range rng.IntN(1200) {
				s.see(rng.Uint64())
			}
			r.Open = s
		}
		for range rng.IntN(5) {
			r.Ended = append(r.Ended, sessionEnd{ID: []string{SessionID("k", "m"), text()}[rng.IntN(2)], Minute: rng.Int64(), DurationMs: -rng.Int64N(1 << 40), Bounce: rng.IntN(2) == 0})
		}
		if got, want := sizeRecord(&r), len(appendRecord(nil, &r)); got != want {
			t.Fatalf("record %d: sizeRecord %d, encoded %d bytes", i, got, want)
		}
	}
}

// The bound the commit planning uses for a visitor sketch: at most sketchHeaderBytes
// plus sketchInsertBytes per insertion, whatever was inserted, compacted or not.
func TestAVisitorSketchEncodesWithinItsBound(t *testing.T) {
	for _, compact := range []bool{false, true} {
		sk := hyperloglog.New14()
		for n := 1; n <= 40_000; n++ {
			sk.Insert([]byte(fmt.Sprint("visitor-", n)))
			if compact && n%97 == 0 {
				sk.Estimate()
			}
			if n < 4000 || n%101 == 0 {
				b, err := sk.MarshalBinary()
				if err != nil {
					t.Fatal(err)
				}
				if len(b) > sketchHeaderBytes+sketchInsertBytes*n {
					t.Fatalf("compacted %v: %d insertions encode to %d bytes, over the bound %d", compact, n, len(b), sketchHeaderBytes+sketchInsertBytes*n)
				}
			}
		}
	}
}

// A compacted sketch encodes alike whatever the order of its insertions and whether
// it travelled through a commit: the writer and an instance recovering its aggregate
// cut it into the same parts (SplitAggregate).
func TestAVisitorSketchCompactsToOneEncoding(t *testing.T) {
	for _, n := range []int{1, 10, 163, 164, 1000, 3000, 4000, 20_000} {
		keys := make([][]byte, n)
		for i := range keys {
			keys[i] = []byte(fmt.Sprint("visitor-", i))
		}
		var encodings []string
		for round := range 4 {
			rng := rand.New(rand.NewPCG(uint64(round), 5))
			rng.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
			sk := hyperloglog.New14()
			for i, k := range keys {
				sk.Insert(k)
				if round == 2 && i%50 == 0 {
					sk.Estimate() // compacted along the way
				}
			}
			if round == 3 { // through a commit's encoding
				b, _ := sk.MarshalBinary()
				sk = hyperloglog.New14()
				if err := sk.UnmarshalBinary(b); err != nil {
					t.Fatal(err)
				}
			}
			sk.Estimate()
			b, _ := sk.MarshalBinary()
			encodings = append(encodings, string(b))
		}
		for i := 1; i < len(encodings); i++ {
			if encodings[i] != encodings[0] {
				t.Errorf("%d visitors: compacted encodings differ (%d and %d bytes)", n, len(encodings[0]), len(encodings[i]))
			}
		}
	}
}
