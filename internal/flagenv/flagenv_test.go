package flagenv

import (
	"flag"
	"strings"
	"testing"
	"time"
)

func TestEnvironmentOverridesDefaultAndFlagOverridesBoth(t *testing.T) {
	t.Setenv("TEST_ADDR", "from-env")
	t.Setenv("TEST_WAIT", "3s")
	t.Setenv("TEST_N", "oops")
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	addr, wait, n := "default", time.Second, 1
	s := New(fs)
	s.String(&addr, "addr", "TEST_ADDR", "address")
	s.Duration(&wait, "wait", "TEST_WAIT", "wait")
	s.Int(&n, "n", "TEST_N", "count")
	if err := s.Err(); err == nil || !strings.Contains(err.Error(), "invalid TEST_N=\"oops\"") {
		t.Fatalf("Err() = %v, want it to name TEST_N", err)
	}
	if addr != "from-env" || wait != 3*time.Second {
		t.Fatalf("after env: addr=%q wait=%s", addr, wait)
	}
	if err := fs.Parse([]string{"-addr", "from-flag"}); err != nil {
		t.Fatal(err)
	}
	if addr != "from-flag" {
		t.Fatalf("after flag: addr=%q", addr)
	}
}
