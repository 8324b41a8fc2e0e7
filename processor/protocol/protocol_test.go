package protocol

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// The protocol without Pulsar, step by step: writer a processes two batches of the
// events of keys of one shard and writes a snapshot of the shard after the first; it
// crashes at one step of the second checkpoint (or stalls and writes late); b, which
// the broker hands the unacknowledged events, loads the shard as the pipeline does
// (the snapshot's records, then the commits after it), processes the redelivered
// events and closes the sessions. A reader that plays the whole session-state log
// from its start, as any instance judges it, counts every event once and every
// session once, whatever the step.
func TestACrashAtEveryStepCountsEveryEventOnce(t *testing.T) {
	keys := keysOfOneShard(3)
	type delivery struct {
		v   ev
		key string
		pos Position
	}
	var batches [2][]delivery
	for i := range 4 {
		for k, key := range keys {
			d := delivery{ev{time.Duration(i) * time.Minute, fmt.Sprintf("%s-%d", key, i), "", fmt.Sprint("/p", i), "", "", ""}, key,
				Position{Partition: 1, Ledger: 5, Entry: int64(i*len(keys) + k)}}
			batches[i/2] = append(batches[i/2], d)
		}
	}
	add := func(z *Sessionizer, b []delivery) {
		for _, d := range b {
			pos := d.pos
			z.Add(keyed(d.v, d.key), &pos)
		}
	}
	const (
		afterEvents     = "crash after handling the events"
		afterBuilding   = "crash after building the commits"
		afterWriting    = "crash after writing the commits, before reading them back"
		afterCounting   = "crash after the commits counted, before the aggregates and acknowledgements"
		writtenTwice    = "the commits written twice (a retried send), then a crash before acknowledging"
		staleWriter     = "a stalled writer's commits land after the new owner's"
		acknowledgedAll = "no crash: every event acknowledged"
	)
	for _, step := range []string{afterEvents, afterBuilding, afterWriting, afterCounting, writtenTwice, staleWriter, acknowledgedAll} {
		t.Run(step, func(t *testing.T) {
			clk := &clock{t0.Add(time.Hour)}
			var log []*Commit
			a := NewSessionizer(DefaultSessionRules(), "a", clk.Now)
			add(a, batches[0])
			log = append(log, checkpoint(t, a)...)
			all := [StateShards]bool{}
			all[shardOf(keys[0])] = true
			// The snapshot is encoded at once, as the pipeline does (its records point
			// into a's state, which the next events change).
			data, err := encodeShardSnapshot("t/ns", shardOf(keys[0]), nil, clk.T, a.shardRecords(&all)[shardOf(keys[0])])
			if err != nil {
				t.Fatal(err)
			}
			snap, _, err := decodeShardSnapshot(bytes.NewReader(data), "t/ns", shardOf(keys[0]), func(s string) string { return s })
			if err != nil {
				t.Fatal(err)
			}
			snapAt := len(log)

			add(a, batches[1])
			var late []*Commit
			switch step {
			case afterEvents:
			case afterBuilding, staleWriter:
				late = a.Checkpoint().Commits
			case afterWriting:
				log = append(log, a.Checkpoint().Commits...)
			case afterCounting, acknowledgedAll:
				log = append(log, checkpoint(t, a)...)
			case writtenTwice:
				cs := checkpoint(t, a)
				log = append(append(log, cs...), cs...)
			}

			// b loads the shard: the snapshot, then the commits since.
			loader := NewSessionizer(DefaultSessionRules(), "loader/b", clk.Now)
			loader.restore(snap)
			play(t, loader, log[snapAt:])
			b := NewSessionizer(DefaultSessionRules(), "b", clk.Now)
			b.adopt(loader, &all)
			if step != acknowledgedAll {
				add(b, batches[1]) // redelivered
			}
			log = append(log, checkpoint(t, b)...)
			if step == staleWriter {
				log = append(log, late...)
			}
			clk.T = clk.T.Add(2 * time.Hour)
			b.Expire()
			log = append(log, checkpoint(t, b)...)

			var events, ended int64
			written, counted := 0, 0
			for _, c := range log {
				if c.Writer == "b" {
					written++
				}
			}
			for _, agg := range play(t, NewSessionizer(DefaultSessionRules(), "reader", clk.Now), log) {
				for _, m := range agg.Minutes {
					events += m.TotalEvents()
					ended += m.SessionsEnded
				}
				if agg.Writer == "b" {
					counted++
				}
			}
			if events != 12 || ended != 3 {
				t.Errorf("the log counts %d events and %d sessions ended, want 12 and 3", events, ended)
			}
			// b started from the committed state: none of its commits is overtaken (it
			// would have to start over).
			if counted != written {
				t.Errorf("%d of b's %d commits count", counted, written)
			}
		})
	}
}
