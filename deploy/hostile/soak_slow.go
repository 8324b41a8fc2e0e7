package hostile

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Latencies are the answers of a fixed-rate load of legitimate requests.
type Latencies struct {
	Requests int
	// Status counts the answers by status, 0 for none (closed, timed out).
	Status   map[int]int
	P50, P99 time.Duration
}

// Non200 is the requests not answered 200.
func (l Latencies) Non200() int { return l.Requests - l.Status[200] }

// SlowReport is what the slow-connection phase measured.
type SlowReport struct {
	// Slow is the connections meant to be held; MinHeld and MeanHeld how many were,
	// sampled every 250 ms while Held was measured.
	Slow              int
	MinHeld, MeanHeld float64
	// Opened counts the slow connections opened, Cut those the server ended (408 or a
	// close), DialErrors the connections that could not be opened.
	Opened, Cut, DialErrors int64
	// Baseline is the legitimate requests' answers before the slow connections, Held
	// while they were held.
	Baseline, Held Latencies
	// CollectorPeakMiB is the collector's peak resident memory over the phase (it is
	// restarted at the start of the phase, so the peak is the phase's own).
	CollectorPeakMiB float64
}

// RunSlow restarts svcs' collector and sends legitimate requests (SoakBatch track
// events each, a connection each, as distinct visitors' browsers do) at cfg.LegitRate
// for cfg.Baseline alone, then opens cfg.Slow connections that trickle their bodies
// (a byte a second of a declared 1,000) and, once they are held, sends the same load
// for cfg.Measured. A slow connection the server cuts (its read timeout, 10 s) is
// opened again at once, so that cfg.Slow stay held; the first ones end themselves at
// random within the read timeout, so that the reconnections spread out.
func RunSlow(ctx context.Context, svcs *Services, cfg SoakConfig, logf func(string, ...any)) (SlowReport, error) {
	rep := SlowReport{Slow: cfg.Slow}
	c := svcs.Collector
	if err := c.Stop(20 * time.Second); err != nil {
		return rep, err
	}
	if err := c.Start(); err != nil {
		return rep, err
	}
	readyCtx, cancel := context.WithTimeout(ctx, time.Minute)
	err := c.WaitReady(readyCtx)
	cancel()
	if err != nil {
		return rep, err
	}
	peaksCtx, stopPeaks := context.WithCancel(ctx)
	defer stopPeaks()
	peaks := WatchPeaks(peaksCtx, soakSample, func() map[string]int { return map[string]int{"collector": c.Pid()} })
	t := &Target{Addr: c.Addr, WriteKey: WriteKey}
	run := "l" + randomHex()

	rep.Baseline = legitLoad(ctx, t, cfg.LegitRate, cfg.Baseline, run+"-base")
	logf("slow phase: legitimate requests alone: p99 %s, statuses %v", rep.Baseline.P99, rep.Baseline.Status)

	slowCtx, stopSlow := context.WithCancel(ctx)
	h := holdSlow(slowCtx, t, cfg.Slow)
	for deadline := time.Now().Add(30 * time.Second); h.held.Load() < int64(cfg.Slow) && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	logf("slow phase: %d of %d slow connections held (%d could not be opened)", h.held.Load(), cfg.Slow, h.dialErrors.Load())
	samples := make(chan []int64, 1)
	sampleCtx, stopSampling := context.WithCancel(ctx)
	go func() {
		var s []int64
		tick := time.NewTicker(soakSample)
		defer tick.Stop()
		for {
			s = append(s, h.held.Load())
			select {
			case <-sampleCtx.Done():
				samples <- s
				return
			case <-tick.C:
			}
		}
	}()
	rep.Held = legitLoad(ctx, t, cfg.LegitRate, cfg.Measured, run+"-slow")
	stopSampling()
	held := <-samples
	stopSlow()
	h.wg.Wait()
	rep.MinHeld, rep.MeanHeld = float64(slices.Min(held)), mean(held)
	rep.Opened, rep.Cut, rep.DialErrors = h.opened.Load(), h.cut.Load(), h.dialErrors.Load()
	rep.CollectorPeakMiB = peaks.PeakMiB("collector")
	return rep, nil
}

// legitLoad sends rate requests a second for d (open loop: request i is due at
// start + i/rate), each of SoakBatch track events on a connection of its own.
func legitLoad(ctx context.Context, t *Target, rate float64, d time.Duration, prefix string) Latencies {
	n := int(rate * d.Seconds())
	outs := make([]Outcome, n)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		time.Sleep(time.Until(start.Add(time.Duration(float64(i) / rate * float64(time.Second)))))
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids := IDs{Prefix: fmt.Sprintf("%s-%d-", prefix, i)}
			outs[i] = t.Do(ctx, Request{Body: func(ids IDs) []byte { return batch(ids.tracks(SoakBatch)...) }}, ids)
		}()
	}
	wg.Wait()
	l := Latencies{Requests: n, Status: map[int]int{}}
	lat := make([]time.Duration, 0, n)
	for _, o := range outs {
		l.Status[o.Status]++
		lat = append(lat, o.Latency)
	}
	l.P50, l.P99 = percentile(lat, 0.50), percentile(lat, 0.99)
	return l
}

// slowHold is the slow connections' counters.
type slowHold struct {
	held, opened, cut, dialErrors atomic.Int64
	wg                            sync.WaitGroup
}

// holdSlow keeps n slow connections open until ctx ends (see RunSlow). The first are
// opened over about a second.
func holdSlow(ctx context.Context, t *Target, n int) *slowHold {
	h := &slowHold{}
	head := stalled(t, IDs{Prefix: "slow-"})
	for i := range n {
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			time.Sleep(time.Duration(i) * time.Second / time.Duration(n))
			// The first connection ends itself within the read timeout; the next ones
			// are held until the server cuts them.
			lifetime := rand.N(readTimeout)
			for ctx.Err() == nil {
				conn, err := dial(ctx, t)
				if err == nil {
					if _, err = conn.Write(head); err != nil {
						conn.Close()
					}
				}
				if err != nil {
					if ctx.Err() == nil {
						h.dialErrors.Add(1)
						time.Sleep(200 * time.Millisecond)
					}
					continue
				}
				h.opened.Add(1)
				h.held.Add(1)
				if trickle(ctx, conn, lifetime) {
					h.cut.Add(1)
				}
				h.held.Add(-1)
				conn.Close()
				lifetime = 0
			}
		}()
	}
	return h
}

// trickle writes a space a second into conn's body until the server answers or
// closes it (true), or ctx ends or lifetime (when not 0) passes (false).
func trickle(ctx context.Context, conn net.Conn, lifetime time.Duration) bool {
	start := time.Now()
	buf := make([]byte, 512)
	for {
		if ctx.Err() != nil || lifetime > 0 && time.Since(start) >= lifetime {
			return false
		}
		next := time.Second
		if lifetime > 0 {
			next = min(next, lifetime-time.Since(start))
		}
		_ = conn.SetReadDeadline(time.Now().Add(next))
		if _, err := conn.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
			return true // an answer (408), or the server closed it
		}
		if _, err := conn.Write([]byte(" ")); err != nil {
			return true
		}
	}
}

// percentile is the nearest-rank p-th percentile of d (0 when empty).
func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(math.Ceil(p*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func mean(v []int64) float64 {
	if len(v) == 0 {
		return 0
	}
	var sum int64
	for _, x := range v {
		sum += x
	}
	return float64(sum) / float64(len(v))
}
