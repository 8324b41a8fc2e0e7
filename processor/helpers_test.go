package processor

import (
	"testing"
	"time"

	"github.com/clicktrail/clicktrail/processor/protocol"
	"github.com/clicktrail/clicktrail/processor/protocol/protocoltest"
	"github.com/clicktrail/clicktrail/schemas"
)

var t0 = protocoltest.T0

// ev is a page (or another type's) event of tenant acme's visitor anon-1.
type ev protocoltest.Ev

func (v ev) Event() *schemas.Event { return protocoltest.Ev(v).Event() }

// clock is a settable processing clock.
type clock struct{ T time.Time }

func (c *clock) Now() time.Time { return c.T }

// committed runs a checkpoint of z and reads its commits back, as the pipeline does
// right after writing them; it returns them and their aggregates.
func committed(t testing.TB, z *protocol.Sessionizer) ([]*protocol.Commit, []*protocol.Aggregate) {
	t.Helper()
	cp := z.Checkpoint()
	var aggs []*protocol.Aggregate
	for _, c := range cp.Commits {
		a, ok := z.Evaluate(c)
		if !ok {
			t.Fatalf("own commit %d did not count", c.Seq)
		}
		aggs = append(aggs, a)
	}
	return cp.Commits, aggs
}

// decoded encodes and decodes a commit, as it travels on the session-state topic (its
// shard in a property).
func decoded(t testing.TB, c *protocol.Commit) *protocol.Commit {
	t.Helper()
	b, err := protocol.AppendCommit(nil, c)
	if err != nil {
		t.Fatal(err)
	}
	out, err := protocol.DecodeCommit(b, func(s string) string { return s })
	if err != nil {
		t.Fatal(err)
	}
	out.Shard = c.Shard
	return out
}
