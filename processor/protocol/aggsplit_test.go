package protocol

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/clicktrail/clicktrail/processor/protocol/protocoltest"
)

// The writer cuts the aggregate of its commit from what it holds, an instance
// recovering it from the commit it decoded: both cut the same parts, byte for byte.
func TestTheWriterAndARecoveringInstanceCutAnAggregateAlike(t *testing.T) {
	clk := &clock{t0.Add(time.Hour)}
	z := NewSessionizer(DefaultSessionRules(), "writer", clk.Now)
	keys := keysOfOneShard(300) // one commit, as large as 300 keys make it
	for i := range 2000 {
		z.Add(protocoltest.Hostile(keys[i%300], i, 1000, t0), &Position{Ledger: 1, Entry: int64(i)})
	}
	reader := NewSessionizer(DefaultSessionRules(), "reader", clk.Now)
	for _, c := range z.Checkpoint().Commits {
		b, err := AppendCommit(nil, c)
		if err != nil {
			t.Fatal(err)
		}
		own, _ := z.Evaluate(c)
		d, err := DecodeCommit(b, func(s string) string { return s })
		if err != nil {
			t.Fatal(err)
		}
		recovered, _ := reader.Evaluate(d)
		wm, err := partsJSON(SplitAggregate(own))
		if err != nil {
			t.Fatal(err)
		}
		rm, err := partsJSON(SplitAggregate(recovered))
		if err != nil {
			t.Fatal(err)
		}
		if len(wm) != len(rm) {
			t.Fatalf("commit %d: the writer cuts %d parts, the recovering instance %d", c.Seq, len(wm), len(rm))
		}
		for i := range wm {
			if string(wm[i]) != string(rm[i]) {
				t.Fatalf("commit %d: part %d differs", c.Seq, i+1)
			}
		}
		if len(wm) < 2 {
			t.Errorf("commit %d: its aggregate fits one message; the test wants several", c.Seq)
		}
	}
}

// partsJSON encodes the parts of an aggregate as they travel.
func partsJSON(parts []*Aggregate) ([][]byte, error) {
	var out [][]byte
	for _, p := range parts {
		b, err := json.Marshal(p)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}
