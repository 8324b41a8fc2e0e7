package hostile

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/clicktrail/clicktrail/schemas"
)

func TestCorpus(t *testing.T) {
	for _, name := range []string{"short", "long"} {
		cases, _ := Corpus(profiles[name], "hTEST")
		run := 0
		groups := map[string]int{}
		names := map[string]bool{}
		for _, c := range cases {
			if c.Name == "" || names[c.Name] {
				t.Errorf("%s: case %d has an empty or repeated name %q", name, c.Number, c.Name)
			}
			names[c.Name] = true
			if c.Want.Status == 0 && !c.Want.Closed {
				t.Errorf("%s: case %q has no expected answer", name, c.Name)
			}
			if !c.LongOnly || profiles[name].Long {
				run++
			}
			groups[c.Group]++
			if c.Run != nil || c.Want.Status != http.StatusOK {
				continue
			}
			// A request the contract accepts must fit the body limit.
			raw, err := (&Target{Addr: "x", WriteKey: "k"}).encode(c.Req, c.IDs)
			if err != nil {
				t.Fatal(err)
			}
			_, body, _ := strings.Cut(string(raw), "\r\n\r\n")
			if len(body) > schemas.MaxRequestBytes && !c.Req.Gzip {
				t.Errorf("case %q: a body of %d bytes cannot be accepted", c.Name, len(body))
			}
		}
		if run < 100 {
			t.Errorf("%s profile runs %d cases, want at least 100", name, run)
		}
		t.Logf("%s profile: %d cases run, by group %v", name, run, groups)
	}
}

func TestExpectMet(t *testing.T) {
	okBody := func(accepted int, rejected ...Rejection) Outcome {
		return Outcome{Status: 200, Body: []byte("{}"), Accepted: accepted, Rejected: rejected, Latency: time.Millisecond}
	}
	tests := []struct {
		name string
		want Expect
		got  Outcome
		ok   bool
	}{
		{"a 200 with the accepted count is met", ok(2), okBody(2), true},
		{"a 200 with another accepted count is not", ok(2), okBody(1), false},
		{"a rejection where none is wanted is not met", ok(1), okBody(1, Rejection{0, "x"}), false},
		{"the rejected indexes with matching reasons are met", rejected(1, "^userId", 1), okBody(1, Rejection{1, "userId: required"}), true},
		{"a rejection for another reason is not met", rejected(0, "^timestamp", 0), okBody(0, Rejection{0, "userId: required"}), false},
		{"all accepted wants at least one and no rejection", ok(allAccepted), okBody(16), true},
		{"all accepted is not met by a rejection", ok(allAccepted), okBody(15, Rejection{3, "x"}), false},
		{"another status is not met", status(431), okBody(1), false},
		{"a close is met when a close is allowed", Expect{Status: 400, Closed: true}, Outcome{Closed: true}, true},
		{"a close is not met when an answer is wanted", status(400), Outcome{Closed: true}, false},
		{"an answer after the bound is not met", Expect{Status: 400, Within: time.Second}, Outcome{Status: 400, Latency: 2 * time.Second}, false},
		{"the alternative answer is met", Expect{Status: 400, Alt: ptr(rejected(0, "sentAt", 0))}, okBody(0, Rejection{0, "sentAt: out of range"}), true},
		{"an error message not matching is not met", failed(413, "too large"), Outcome{Status: 413, Body: []byte(`{"error":"other"}`)}, false},
		{"a failing check is not met", Expect{Status: 429, Check: func(Outcome) error { return errors.New("no Retry-After") }}, Outcome{Status: 429}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.want.Met(tt.got); (err == nil) != tt.ok {
				t.Errorf("Met(%s) of %s = %v, want ok=%v", tt.got.Summary(), tt.want, err, tt.ok)
			}
		})
	}
}
