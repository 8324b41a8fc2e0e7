package hostile

import (
	"context"
	"encoding/base64"
	"math/rand/v2"
	"sync"
	"time"
)

// Stage records what the stage-specific attacks sent, for the checks after the corpus.
type Stage struct {
	// OtherMinute is the minute (of event time) of the 1,100 distinct page paths.
	OtherMinute time.Time
	OtherPaths  int
	// HourlyVisitor sent HourlyEvents events an hour apart, the last at HourlyLast.
	HourlyVisitor string
	HourlyEvents  int
	HourlyLast    time.Time
	// MarkerEvent is the marker batch's track event name and MarkerIDs its messageIds.
	MarkerEvent string
	MarkerIDs   []string
}

// The stage-specific attacks' volumes.
const (
	commitRequests = 40     // concurrent requests of one visitor (the oversized commit)
	commitEvents   = 7      // page events in each
	longPath       = 30_000 // characters of each page path
	otherPaths     = 1_100  // distinct page paths in one minute
	hourlyEvents   = 2_500  // one visitor's events, an hour apart
	bigEventBytes  = 30_000 // property bytes of each event for the archiver's memory
	bigPerRequest  = 15     // 30 KB events per request: 450 KB, under the 500 KB limit
	markerEvents   = 20
)

// stageCases: the attacks aimed at one stage each: the processor's oversized commit
// (issue 14's reproduction), its aggregate maps ("(other)"), session files by event
// time, and the archiver's memory.
func stageCases(p Profile, st *Stage) []*Case {
	big := (p.BigEvents + bigPerRequest - 1) / bigPerRequest
	return []*Case{
		{Name: "40 concurrent requests of one visitor, 7 page events each with 30,000-character paths", Run: oversizedCommit,
			Want: Expect{Status: 200, Accepted: commitRequests * commitEvents, Check: all(200, commitRequests), Within: 30 * time.Second}},
		{Name: "1,100 distinct page paths in one minute", Run: st.distinctPaths,
			Want: Expect{Status: 200, Accepted: otherPaths, Check: all(200, otherPaths/100), Within: 30 * time.Second}},
		{Name: "one visitor's 2,500 events an hour apart in one request", Run: st.hourly, Want: ok(hourlyEvents)},
		{Name: "events of 30 KB properties for the archiver's memory (" + itoa(p.BigEvents) + ")", Run: bigEvents(p.BigEvents),
			Want: Expect{Status: 200, Accepted: p.BigEvents, Check: all(200, big), Within: 5 * time.Minute}},
	}
}

// markerCase sends the marker batch: after the corpus, it must arrive exactly once in
// Parquet and be counted in the aggregates.
func markerCase(st *Stage, run string) *Case {
	st.MarkerEvent = "hostile-marker-" + run
	return &Case{Name: "the marker batch after the corpus", Run: func(ctx context.Context, t *Target, ids IDs) Outcome {
		for i := range markerEvents {
			st.MarkerIDs = append(st.MarkerIDs, ids.Msg(i))
		}
		return t.Do(ctx, Request{Body: func(ids IDs) []byte { return batch(ids.tracks(markerEvents, m("event", str(st.MarkerEvent)))...) }}, ids)
	}, Want: ok(markerEvents)}
}

// oversizedCommit sends one visitor's 280 page events with distinct 30,000-character
// paths of random text (which no compression shrinks) at once: the processor's
// checkpoint of that visitor holds them all.
func oversizedCommit(ctx context.Context, t *Target, ids IDs) Outcome {
	outs := make([]Outcome, commitRequests)
	var wg sync.WaitGroup
	for r := range commitRequests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 40))
			outs[r] = t.Do(ctx, Request{Body: func(ids IDs) []byte {
				evs := make([]string, commitEvents)
				for i := range evs {
					n := r*commitEvents + i
					evs[i] = ids.page(n, "/"+itoa(n)+"/"+randomText(rng, longPath-len(itoa(n))-2))
				}
				return batch(evs...)
			}}, ids)
		}()
	}
	wg.Wait()
	return combine(outs)
}

// distinctPaths sends otherPaths page events with distinct paths, all in one minute
// of event time twenty minutes back (a minute no other case uses), in requests of 100.
func (st *Stage) distinctPaths(ctx context.Context, t *Target, ids IDs) Outcome {
	st.OtherMinute = time.Now().UTC().Truncate(time.Minute).Add(-20 * time.Minute)
	st.OtherPaths = otherPaths
	var outs []Outcome
	for r := range otherPaths / 100 {
		outs = append(outs, t.Do(ctx, Request{Body: func(ids IDs) []byte {
			evs := make([]string, 100)
			for i := range evs {
				n := r*100 + i
				at := st.OtherMinute.Add(10*time.Second + time.Duration(n)*time.Millisecond)
				evs[i] = ids.page(n, "/distinct/"+itoa(n), m("timestamp", ts(at)))
			}
			return batch(evs...)
		}}, ids))
	}
	return combine(outs)
}

// hourly sends one visitor's hourlyEvents events an hour apart, oldest first, the last
// an hour ago: each closes the session before it.
func (st *Stage) hourly(ctx context.Context, t *Target, ids IDs) Outcome {
	st.HourlyVisitor, st.HourlyEvents = ids.Visitor(), hourlyEvents
	st.HourlyLast = time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	return t.Do(ctx, Request{Body: func(ids IDs) []byte {
		evs := make([]string, hourlyEvents)
		for i := range evs {
			at := st.HourlyLast.Add(-time.Duration(hourlyEvents-1-i) * time.Hour)
			evs[i] = ids.page(i, "/hourly", m("timestamp", ts(at)))
		}
		return batch(evs...)
	}}, ids)
}

// bigEvents sends n events of bigEventBytes of random text (which compresses as
// little as real payloads), bigPerRequest a request, four requests at a time.
func bigEvents(n int) func(ctx context.Context, t *Target, ids IDs) Outcome {
	return func(ctx context.Context, t *Target, ids IDs) Outcome {
		requests := (n + bigPerRequest - 1) / bigPerRequest
		outs := make([]Outcome, requests)
		sem := make(chan struct{}, 4)
		var wg sync.WaitGroup
		for r := range requests {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				rng := rand.New(rand.NewPCG(uint64(r), 14))
				outs[r] = t.Do(ctx, Request{Timeout: time.Minute, Body: func(ids IDs) []byte {
					var evs []string
					for i := r * bigPerRequest; i < min(n, (r+1)*bigPerRequest); i++ {
						evs = append(evs, ids.track(i, m("properties", obj(m("data", str(randomText(rng, bigEventBytes)))))))
					}
					return batch(evs...)
				}}, ids)
			}()
		}
		wg.Wait()
		return combine(outs)
	}
}

func randomText(rng *rand.Rand, n int) string {
	b := make([]byte, n*3/4+3)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return base64.StdEncoding.EncodeToString(b)[:n]
}
