package protocol

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// values returns n distinct page paths.
func values(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("/page/%d", i)
	}
	return out
}

func TestADimensionKeepsAThousandValuesAndCountsTheRestAsOther(t *testing.T) {
	tests := []struct {
		name      string
		distinct  int
		wantNamed int
	}{
		{"a thousand values are all kept", 1000, 1000},
		{"the thousand and first goes to (other)", 1001, 1000},
		{"five thousand values keep a thousand", 5000, 1000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMinute("acme", t0)
			vs := values(tc.distinct)
			for i, v := range vs {
				m.Count(DimPageviews, v, int64(1+i%3))
			}
			var total, want int64
			for i := range vs {
				want += int64(1 + i%3)
			}
			named := 0
			for v, n := range m.Pageviews {
				total += n
				if v != otherValue {
					named++
				}
			}
			if named != tc.wantNamed || total != want {
				t.Errorf("%d values named, %d counted in all; want %d and %d", named, total, tc.wantNamed, want)
			}
			if tc.distinct > MaxDistinctValues && m.Pageviews[otherValue] == 0 {
				t.Errorf("nothing counted under %s", otherValue)
			}
			// The named ones are those of smallest rank, each with its full count.
			ranks := make([]ranked, len(vs))
			for i, v := range vs {
				ranks[i] = rankOf(v)
			}
			slices.SortFunc(ranks, func(a, b ranked) int {
				if a.after(b) {
					return 1
				}
				return -1
			})
			for _, r := range ranks[:tc.wantNamed] {
				var i int
				fmt.Sscanf(r.v, "/page/%d", &i)
				if m.Pageviews[r.v] != int64(1+i%3) {
					t.Fatalf("%s counted %d, want %d", r.v, m.Pageviews[r.v], 1+i%3)
				}
			}
		})
	}
}

// Partial aggregates of one minute, cut in any way and merged in any order (as
// commits and parts of aggregates reach the instances), give the same minute, and the
// same as counting every event in one.
func TestMergingPartialsGivesTheSameMinuteInAnyOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	type count struct {
		v string
		n int64
	}
	var events []count
	for range 20_000 {
		events = append(events, count{fmt.Sprintf("/p/%d", rng.IntN(4000)), 1})
	}
	whole := NewMinute("acme", t0)
	for _, e := range events {
		whole.Count(DimPageviews, e.v, e.n)
	}
	for round := range 5 {
		// Cut into partials of random sizes, each bounded on its own, through JSON.
		var partials []*Minute
		for rest := events; len(rest) > 0; {
			n := min(len(rest), 1+rng.IntN(6000))
			p := NewMinute("acme", t0)
			for _, e := range rest[:n] {
				p.Count(DimPageviews, e.v, e.n)
			}
			b, _ := json.Marshal(p)
			var q Minute
			if err := json.Unmarshal(b, &q); err != nil {
				t.Fatal(err)
			}
			partials = append(partials, &q)
			rest = rest[n:]
		}
		rng.Shuffle(len(partials), func(i, j int) { partials[i], partials[j] = partials[j], partials[i] })
		merged := NewMinute("acme", t0)
		for _, p := range partials {
			if err := merged.Merge(p); err != nil {
				t.Fatal(err)
			}
		}
		if !maps.Equal(merged.Pageviews, whole.Pageviews) {
			t.Fatalf("round %d: %d partials merged give %d entries (other %d), counting in one %d (other %d)",
				round, len(partials), len(merged.Pageviews), merged.Pageviews[otherValue], len(whole.Pageviews), whole.Pageviews[otherValue])
		}
	}
	if len(whole.Pageviews) != MaxDistinctValues+1 {
		t.Errorf("%d entries, want %d and %s", len(whole.Pageviews), MaxDistinctValues, otherValue)
	}
}

// A partial written by an older writer (values of any length, any number of them) is
// bounded when merged.
func TestMergingAnUnboundedPartialBoundsIt(t *testing.T) {
	old := NewMinute("acme", t0)
	old.Referrers = map[string]int64{}
	for i := range 3000 {
		old.Referrers[fmt.Sprintf("%d.", i)+strings.Repeat("x", 30_000)] = 2
	}
	m := NewMinute("acme", t0)
	if err := m.Merge(old); err != nil {
		t.Fatal(err)
	}
	var total int64
	for v, n := range m.Referrers {
		if len(v) > MaxValueBytes {
			t.Fatalf("a value of %d bytes kept", len(v))
		}
		total += n
	}
	if len(m.Referrers) != MaxDistinctValues+1 || total != 6000 {
		t.Errorf("%d entries counting %d, want %d counting 6000", len(m.Referrers), total, MaxDistinctValues+1)
	}
}
