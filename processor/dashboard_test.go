package processor

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clicktrail/clicktrail/internal/testenv"
	"github.com/clicktrail/clicktrail/schemas"
)

// chromium returns Debian's chromium, installing it when it is missing.
func chromium(t *testing.T) string {
	t.Helper()
	const bin = "/usr/bin/chromium"
	if _, err := os.Stat(bin); err != nil {
		out, err := exec.Command("../sdk-js/scripts/ensure-chromium.sh").CombinedOutput()
		if err != nil {
			t.Fatalf("install chromium (sdk-js/scripts/ensure-chromium.sh): %v\n%s", err, out)
		}
	}
	return bin
}

func runChromium(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--virtual-time-budget=5000",
		"--user-data-dir=" + t.TempDir(), "--window-size=1100,1300"}
	cmd := exec.CommandContext(ctx, chromium(t), append(base, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return string(out)
}

// The dashboard page, opened in headless Chromium, shows the numbers the API gives.
func TestTheDashboardPageShowsTheAPIsNumbers(t *testing.T) {
	env := testenv.New(t)
	cfg := testConfig(t, env)
	in := startInstance(t, cfg, "a")

	// Visits of the last half hour, some of them in the last five minutes.
	base := time.Now().UTC().Add(-45 * time.Minute).Truncate(time.Minute)
	rounds := visitorStream(4, 300, env.Tenant, base)
	for _, round := range rounds {
		for _, e := range round {
			if e.Timestamp.After(time.Now()) {
				e.Timestamp = schemas.NewTime(time.Now().Add(-time.Minute))
			}
		}
	}
	produce(t, env.Client(), env.Topic(schemas.TopicEvents), rounds, 50*time.Millisecond, nil)
	want, _ := reference(rounds)
	to := time.Now().Add(time.Hour)
	waitForStats(t, in.addr(), env.Tenant, base.Add(-time.Hour), to, int64(len(want)), 30*time.Second)

	page := fmt.Sprintf("http://%s/?tenant=%s&key=%s&range=1h", in.addr(), env.Tenant, testReadKey)
	dom := runChromium(t, "--dump-dom", page)
	if !strings.Contains(dom, `data-state="loaded"`) {
		t.Fatalf("the page did not load its statistics:\n%s", dom)
	}
	attr := func(name string) int64 {
		m := regexp.MustCompile(`data-` + name + `="(\d+)"`).FindStringSubmatch(dom)
		if m == nil {
			t.Fatalf("page has no data-%s", name)
		}
		n, _ := strconv.ParseInt(m[1], 10, 64)
		return n
	}
	// Ask the API for exactly the range the page asked for.
	st := fetchStats(t, in.addr(), env.Tenant, time.Unix(attr("from"), 0), time.Unix(attr("to"), 0))
	shown := func(id string) string {
		m := regexp.MustCompile(`id="` + id + `"[^>]*>([^<]*)<`).FindStringSubmatch(dom)
		if m == nil {
			t.Fatalf("page has no #%s", id)
		}
		return strings.ReplaceAll(m[1], ",", "")
	}
	for id, want := range map[string]int64{
		"total-visitors": st.Totals.Visitors, "total-pageviews": st.Totals.Pageviews,
		"total-sessions": st.Totals.Sessions, "live-visitors": st.LiveVisitors,
	} {
		if got := shown(id); got != strconv.FormatInt(want, 10) {
			t.Errorf("#%s shows %q, the API says %d", id, got, want)
		}
	}
	if got, want := shown("bounce-rate"), fmt.Sprintf("%d%%", int(st.Totals.BounceRate*100+0.5)); got != want {
		t.Errorf("#bounce-rate shows %q, the API says %s", got, want)
	}
	for _, p := range st.Pages {
		if !strings.Contains(dom, fmt.Sprintf(`data-name="%s" data-count="%d"`, p.Name, p.Count)) {
			t.Errorf("top pages lack %s with %d views", p.Name, p.Count)
		}
	}
	if st.LiveVisitors == 0 || st.Totals.Pageviews == 0 {
		t.Errorf("nothing to show: live %d, pageviews %d", st.LiveVisitors, st.Totals.Pageviews)
	}
	if n := strings.Count(dom, "<polyline"); n != 2 {
		t.Errorf("the chart has %d lines, want 2 (visitors and pageviews)", n)
	}

	// The last 90 days are read by day: the same visits, the same pageviews.
	dom90 := runChromium(t, "--dump-dom", fmt.Sprintf("http://%s/?tenant=%s&key=%s&range=2160h", in.addr(), env.Tenant, testReadKey))
	if !strings.Contains(dom90, `data-state="loaded"`) || !strings.Contains(dom90, `data-interval="24h0m0s"`) {
		t.Fatalf("the page of the last 90 days did not load its statistics by day:\n%s", dom90)
	}
	if m := regexp.MustCompile(`id="total-pageviews"[^>]*>([^<]*)<`).FindStringSubmatch(dom90); m == nil || strings.ReplaceAll(m[1], ",", "") != strconv.FormatInt(st.Totals.Pageviews, 10) {
		t.Errorf("the last 90 days show %v pageviews, the last hour %d: want the same visits", m, st.Totals.Pageviews)
	}

	shot := filepath.Join(os.TempDir(), "clicktrail-dashboard.png")
	runChromium(t, "--screenshot="+shot, page)
	if fi, err := os.Stat(shot); err != nil || fi.Size() < 10_000 {
		t.Fatalf("screenshot %s: %v", shot, err)
	}
	t.Logf("screenshot: %s; page showed %d visitors, %d pageviews, %d live", shot, st.Totals.Visitors, st.Totals.Pageviews, st.LiveVisitors)
}
