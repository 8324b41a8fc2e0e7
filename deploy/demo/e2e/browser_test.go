package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/clicktrail/clicktrail/internal/testenv"
)

// chromiumPath is Debian's chromium, the browser every browser test of the repository
// drives (sdk-js/scripts/ensure-chromium.sh installs it).
const chromiumPath = "/usr/bin/chromium"

// newBrowser starts headless Chromium for t, installing it with
// sdk-js/scripts/ensure-chromium.sh when it is missing; t fails (never skips) when it
// cannot. The browser stops when t ends.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		out, err := exec.Command(filepath.Join(testenv.Root(t), "sdk-js", "scripts", "ensure-chromium.sh")).CombinedOutput()
		if err != nil {
			t.Fatalf("%s is missing and sdk-js/scripts/ensure-chromium.sh could not install it: %v\n%s", chromiumPath, err, out)
		}
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1100, 1300))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first action starts the browser, bound to ctx (no deadline: each step below
	// gets its own).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", chromiumPath, err)
	}
	return ctx
}

// step runs actions with a deadline generous enough for a busy 2-core machine.
func step(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		t.Fatalf("browser: %s: %v", what, err)
	}
}

// sdkSettled waits until the SDK has replaced the loader's queue, then flushes what the
// page queued and waits for the collector's answer. Flushing before each click keeps the
// journey free of the SDK's unload-time delivery, whose answer the leaving page never
// sees (the next page would send the batch again 15 s later: a repeat that the archiver
// drops but that a processor whose session already closed would count again).
const sdkSettled = `(async () => {
  for (let i = 0; !(window.clicktrail && !window.clicktrail.q); i++) {
    if (i > 1500) throw new Error("the SDK did not load: " + document.readyState);
    await new Promise((r) => setTimeout(r, 20));
  }
  await window.clicktrail.flush();
  return true;
})()`

// settle waits for the SDK of the page that shows path and flushes it.
func settle(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	step(t, ctx, "wait for "+path,
		chromedp.WaitReady(chromedp.CSS(fmt.Sprintf(`body[data-page=%q]`, path))),
		chromedp.Evaluate[chromedp.Void](sdkSettled, chromedp.EvalAwaitPromise))
}

// clickTo clicks the link sel and waits for the page at path to load and flush.
func clickTo(t *testing.T, ctx context.Context, sel, path string) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	if _, err := chromedp.Run(sctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(sel)))); err != nil {
		t.Fatalf("browser: click %s: %v", sel, err)
	}
	settle(t, ctx, path)
}

// visitDemoSite is a visitor's journey over the demo site: home, a campaign link to the
// blog post, the post's campaign link to pricing, a plan, the signup button (identify
// and a track event), then the docs. Every page sends through the SDK.
func visitDemoSite(t *testing.T, ctx context.Context, siteURL string) {
	t.Helper()
	step(t, ctx, "open the home page", chromedp.Navigate(siteURL+"/"))
	settle(t, ctx, "/")
	clickTo(t, ctx, "#blog-link", "/blog/clickstream-at-scale")
	clickTo(t, ctx, "#post-pricing", "/pricing")
	clickTo(t, ctx, "#plan-pro", "/signup")
	step(t, ctx, "sign up",
		chromedp.Click(chromedp.CSS("#signup-button")),
		chromedp.WaitReady(chromedp.CSS(`#signup-status[data-state="sent"]`)))
	clickTo(t, ctx, `nav a[href="/docs"]`, "/docs")
}

// tap relays the browser's requests to the collector unchanged (Origin included, so the
// collector's CORS and origin checks apply) and records each batch with the collector's
// answer: the ground truth of what the browser's SDK had accepted. The SDK's own
// browser test relays to a real collector the same way.
type tap struct {
	collector string
	client    *http.Client
	mu        sync.Mutex
	batches   []tapped
}

type tapped struct {
	events []sentEvent
	status int
	answer struct {
		Accepted int `json:"accepted"`
		Rejected []struct {
			Index  int    `json:"index"`
			Reason string `json:"reason"`
		} `json:"rejected"`
	}
}

// sentEvent is what the test reads of an event the SDK sent.
type sentEvent struct {
	Type        string         `json:"type"`
	Event       string         `json:"event"`
	Name        string         `json:"name"`
	MessageID   string         `json:"messageId"`
	AnonymousID string         `json:"anonymousId"`
	UserID      string         `json:"userId"`
	Properties  map[string]any `json:"properties"`
	Context     struct {
		Page struct {
			Path string `json:"path"`
		} `json:"page"`
		Campaign struct {
			Name string `json:"name"`
		} `json:"campaign"`
	} `json:"context"`
}

func (tp *tap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, tp.collector+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	req.Header = r.Header.Clone()
	resp, err := tp.client.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(answer)

	if r.Method != http.MethodPost || r.URL.Path != "/v1/batch" {
		return
	}
	var b tapped
	var sent struct {
		Batch []sentEvent `json:"batch"`
	}
	_ = json.Unmarshal(body, &sent)
	b.events, b.status = sent.Batch, resp.StatusCode
	_ = json.Unmarshal(answer, &b.answer)
	tp.mu.Lock()
	tp.batches = append(tp.batches, b)
	tp.mu.Unlock()
}

// browserTraffic is what the browser sent and what the collector accepted of it.
type browserTraffic struct {
	sent, accepted map[string]sentEvent // by messageId
	acceptedTotal  int                  // accepted counts of the answers, repeats included
	rejected       []string
}

func (tp *tap) traffic() browserTraffic {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	bt := browserTraffic{sent: map[string]sentEvent{}, accepted: map[string]sentEvent{}}
	for _, b := range tp.batches {
		rejected := map[int]bool{}
		for _, r := range b.answer.Rejected {
			rejected[r.Index] = true
			bt.rejected = append(bt.rejected, fmt.Sprintf("%s: %s", b.events[r.Index].MessageID, r.Reason))
		}
		if b.status == http.StatusOK {
			bt.acceptedTotal += b.answer.Accepted
		}
		for i, e := range b.events {
			bt.sent[e.MessageID] = e
			if b.status == http.StatusOK && !rejected[i] {
				bt.accepted[e.MessageID] = e
			}
		}
	}
	return bt
}

// dashboard is what the processor's dashboard page shows once it has loaded.
type dashboard struct {
	dom      string
	from, to time.Time
}

// openDashboard loads the dashboard page in the browser and returns its DOM once it
// shows statistics.
func openDashboard(t *testing.T, ctx context.Context, pageURL string) dashboard {
	t.Helper()
	step(t, ctx, "open the dashboard", chromedp.Navigate(pageURL),
		chromedp.WaitReady(chromedp.CSS(`body[data-state="loaded"]`)))
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	dom, err := chromedp.Run(sctx, chromedp.OuterHTML(chromedp.CSS("html")))
	if err != nil {
		t.Fatalf("browser: read the dashboard: %v", err)
	}
	d := dashboard{dom: dom}
	d.from, d.to = time.Unix(d.attr(t, "from"), 0), time.Unix(d.attr(t, "to"), 0)
	return d
}

func (d dashboard) attr(t *testing.T, name string) int64 {
	t.Helper()
	m := regexp.MustCompile(`data-` + name + `="(\d+)"`).FindStringSubmatch(d.dom)
	if m == nil {
		t.Fatalf("the dashboard has no data-%s:\n%s", name, d.dom)
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n
}

// shown is the text of the element with id, thousands separators removed.
func (d dashboard) shown(t *testing.T, id string) string {
	t.Helper()
	m := regexp.MustCompile(`id="` + id + `"[^>]*>([^<]*)<`).FindStringSubmatch(d.dom)
	if m == nil {
		t.Fatalf("the dashboard has no #%s", id)
	}
	return strings.ReplaceAll(m[1], ",", "")
}

// row reports whether the top list shows name with count.
func (d dashboard) row(name string, count int64) bool {
	return strings.Contains(d.dom, fmt.Sprintf(`data-name="%s" data-count="%d"`, name, count))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
