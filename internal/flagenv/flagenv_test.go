package flagenv

import (
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

func TestEnvironmentOverridesDefaultAndFlagOverridesBoth(t *testing.T) {
	t.Setenv("CLICKTRAIL_TEST_ADDR", "from-env")
	t.Setenv("CLICKTRAIL_TEST_WAIT", "3s")
	t.Setenv("CLICKTRAIL_TEST_N", "oops")
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	addr, wait, n := "default", time.Second, 1
	s := New(fs)
	s.String(&addr, "test.addr", "address")
	s.Duration(&wait, "test.wait", "wait")
	s.Int(&n, "test.n", "count")
	if err := s.Err(); err == nil || !strings.Contains(err.Error(), "invalid CLICKTRAIL_TEST_N=\"oops\"") {
		t.Fatalf("Err() = %v, want it to name CLICKTRAIL_TEST_N", err)
	}
	if addr != "from-env" || wait != 3*time.Second {
		t.Fatalf("after env: addr=%q wait=%s", addr, wait)
	}
	if err := fs.Parse([]string{"-test.addr", "from-flag"}); err != nil {
		t.Fatal(err)
	}
	if addr != "from-flag" {
		t.Fatalf("after flag: addr=%q", addr)
	}
}

func TestTheVariableIsNamedAfterTheFlag(t *testing.T) {
	for flagName, want := range map[string]string{
		"sources":                       "CLICKTRAIL_SOURCES",
		"log.level":                     "CLICKTRAIL_LOG_LEVEL",
		"s3.access-key":                 "CLICKTRAIL_S3_ACCESS_KEY",
		"collector.read-header-timeout": "CLICKTRAIL_COLLECTOR_READ_HEADER_TIMEOUT",
	} {
		if got := EnvName(flagName); got != want {
			t.Errorf("EnvName(%q) = %s, want %s", flagName, got, want)
		}
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	var b bool
	New(fs).Bool(&b, "s3.tls", "use HTTPS")
	if u := fs.Lookup("s3.tls").Usage; u != "use HTTPS ($CLICKTRAIL_S3_TLS)" {
		t.Errorf("usage %q, want it to show the variable", u)
	}
}

func TestTheSharedGroupsRegisterTheirFlags(t *testing.T) {
	t.Setenv("CLICKTRAIL_S3_BUCKET", "from-env")
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	s := New(fs)
	l, store := DefaultLog(), S3{Bucket: "default"}
	var url, sources string
	s.Log(&l)
	s.PulsarURL(&url)
	s.Sources(&sources, "sources file")
	s.S3(&store)
	if err := fs.Parse([]string{"--log.level", "debug", "--pulsar.url", "pulsar://x:6650", "--sources", "s.yaml", "--s3.tls", "--s3.endpoint", "s3:9000"}); err != nil {
		t.Fatal(err)
	}
	want := S3{S3Endpoint: "s3:9000", Bucket: "from-env", S3UseTLS: true}
	if l != (Log{LogLevel: "debug", LogFormat: "json"}) || url != "pulsar://x:6650" || sources != "s.yaml" || store != want {
		t.Errorf("log %+v, url %q, sources %q, store %+v", l, url, sources, store)
	}
}

func TestValidationNamesTheSettingAndItsVariable(t *testing.T) {
	var v Validation
	v.Check(true, "collector.max-in-flight", 0, "must be at least 1")
	if err := v.Err(); err != nil {
		t.Fatalf("nothing failed, got %v", err)
	}
	v.Check(false, "collector.max-body", int64(10), "must be between 1 KB and 64 MB")
	v.Check(false, "collector.read-timeout", time.Second, "must be at least 5s")
	v.Check(false, "sources", "", "required")
	err := v.Err()
	for _, want := range []string{
		"invalid --collector.max-body (CLICKTRAIL_COLLECTOR_MAX_BODY=10): must be between 1 KB and 64 MB",
		"invalid --collector.read-timeout (CLICKTRAIL_COLLECTOR_READ_TIMEOUT=1s): must be at least 5s",
		`invalid --sources (CLICKTRAIL_SOURCES=""): required`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to say %s", err, want)
		}
	}
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) || len(joined.Unwrap()) != 3 {
		t.Errorf("want the three errors joined, got %v", err)
	}
}
