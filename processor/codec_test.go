package processor

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/clicktrail/clicktrail/schemas"
)

// A commit travels on the session-state topic in a binary form that keeps everything.
func TestACommitSurvivesEncoding(t *testing.T) {
	z := NewSessionizer(DefaultSessionRules(), "me", (&clock{t0}).now)
	e := ev{0, "m1", "", "/landing", "https://news.example/", "news", "u-1"}.event()
	e.Enrichment = &schemas.Enrichment{Browser: "Firefox", OS: "Linux", DeviceType: "desktop"}
	e.Source = "web"
	z.Add(e, &position{Partition: 3, Ledger: 9, Entry: 4, Batch: 2})
	z.Add(ev{time.Minute, "m2", schemas.TypeTrack, "/landing", "", "", ""}.event(), &position{Partition: 3, Ledger: 9, Entry: 5})
	z.Add(ev{31 * time.Minute, "m3", "", "/again", "", "", ""}.event(), &position{Partition: 3, Ledger: 9, Entry: 6})
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
	if _, err := decodeCommit(wj, func(s string) string { return s }); err == nil {
		t.Errorf("JSON decoded as a commit")
	}
	b, _ := appendCommit(nil, c)
	for cut := range len(b) {
		if _, err := decodeCommit(b[:cut], func(s string) string { return s }); err == nil {
			t.Fatalf("a commit cut at %d of %d bytes decoded", cut, len(b))
		}
	}
}
