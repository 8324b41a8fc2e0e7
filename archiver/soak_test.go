package archiver

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clicktrail/clicktrail/schemas"
)

// soakKind is the traffic of a run of the soak (deploy/hostile.SoakTraffic).
type soakKind int

const (
	soakOrdinary soakKind = iota
	soakAdversarial
	soakRecent
)

// soakEvent is stored event i of a kind of soak traffic (deploy/hostile.SoakTraffic),
// two page views to a track event, each with a page URL, path, title and referrer, a
// User-Agent, a locale, a screen, the library and a campaign. Ordinary events (940
// bytes of JSON) take them from a site's few hundred values. Adversarial ones (17%
// bigger) have a page path, name or event, referrer, UTM source and User-Agent of
// their own, an eighth of the paths over 200 bytes, and a timestamp of their own,
// three days apart from year 0001 on. Adversarial-recent ones (twice as big) are
// adversarial ones of which an eighth carry a random page path and referrer of 1 to
// 2 KB, which no compression takes away.
func soakEvent(i int, kind soakKind) []byte {
	k := strconv.Itoa(i)
	received := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Millisecond)
	path := "/docs/" + strconv.Itoa(i*7919%300)
	name, referrer, utm, at := path[1:], "https://news.example.org/", "newsletter", received
	agent := "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
	if kind != soakOrdinary {
		path = "/a/s0123456789abcdef/" + k + "/"
		if i%8 == 0 {
			path += strings.Repeat("x", 200+i%60)
		}
		name = "p-s0123456789abcdef-" + k
		referrer = "https://r" + k + "-s0123456789abcdef.example.net/"
		agent = "Mozilla/5.0 (X11; Linux x86_64) Bs0123456789abcdefx" + k + "/" + strconv.Itoa(i%100) + ".0"
		utm = "u" + k + "-s0123456789abcdef"
		at = time.Date(1, 1, 2, 0, 0, 0, 0, time.UTC).AddDate(0, 0, 3*i)
	}
	if kind == soakRecent {
		at = received.Add(-time.Duration(i) * time.Second)
		if i%8 == 0 {
			rng := rand.New(rand.NewPCG(uint64(i), 13))
			path = "/a/s0123456789abcdef/" + k + "/" + randomText(rng, 1024+rng.IntN(1024))
			referrer = "https://r" + k + "-" + strings.ToLower(randomText(rng, 200+rng.IntN(50))) + ".example.net/" + randomText(rng, 1024+rng.IntN(1024))
		}
	}
	url := "https://www.example.com" + path + "?utm_source=" + utm + "&utm_medium=email&utm_campaign=autumn"
	ctx := fmt.Sprintf(`{"page":{"url":%q,"path":%q,"title":%q,"referrer":%q},"userAgent":%q,"locale":"en-US","timezone":"Europe/Berlin","screen":{"width":1920,"height":1080,"density":1},"library":{"name":"clicktrail-sdk","version":"0.1.0"},"campaign":{"source":%q,"medium":"email","name":"autumn"}}`,
		url, path, "Example - "+path, referrer, agent, utm)
	e := schemas.Event{
		Type: "page", Name: name, MessageID: "s0123456789abcdef-" + k, AnonymousID: "s0123456789abcdef-v" + strconv.Itoa(i%1000),
		Timestamp: schemas.NewTime(at), ReceivedAt: schemas.NewTime(received), Context: json.RawMessage(ctx),
		Tenant: "clicktrail", Source: "dev",
		Enrichment: &schemas.Enrichment{IP: "203.0.113.0", Browser: "Chrome", BrowserVersion: "126.0.0.0", OS: "Windows", OSVersion: "10.0", DeviceType: "desktop"},
	}
	if i%3 == 2 { // a track event for two page views
		e.Type, e.Name, e.Event = "track", "", [...]string{"Button Clicked", "Signup Started", "Search"}[i/3%3]
		if kind != soakOrdinary {
			e.Event = "e-s0123456789abcdef-" + k
		}
		e.Properties = json.RawMessage(`{"label":"hero","position":` + strconv.Itoa(i%20) + `}`)
	}
	b, err := json.Marshal(e)
	if err != nil {
		panic(err)
	}
	return b
}

// randomText is n random characters of a URL-safe alphabet (6 bits each).
func randomText(rng *rand.Rand, n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
	b := make([]byte, n)
	for j := range b {
		b[j] = alphabet[rng.IntN(len(alphabet))]
	}
	return string(b)
}

// heldHeap is the heap's live bytes once two collections have emptied the sync.Pool
// caches: what the writer holds, not what it keeps for later.
func heldHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// writeSoakEvents writes n soak events of a kind into a file in dir, and returns the
// file and the most heap it held (every 2,000 rows) above the start.
func writeSoakEvents(t *testing.T, dir string, n int, kind soakKind) (*file, uint64) {
	t.Helper()
	f, err := newFile(dir, eventsTable)
	if err != nil {
		t.Fatal(err)
	}
	base := heldHeap()
	var held uint64
	for i := range n {
		row, _, _, err := eventsTable.decode(soakEvent(i, kind))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.write(row); err != nil {
			t.Fatal(err)
		}
		if i%2000 == 1999 {
			held = max(held, above(heldHeap(), base))
		}
	}
	if err := f.finish(); err != nil {
		t.Fatal(err)
	}
	return f, held
}

// The soak's goal is an archiver's peak RSS under adversarial traffic at most 1.5
// times its peak under ordinary traffic; the archiver writes a file per partition,
// and a file holds a row group in memory. Through the writer, 50,000 adversarial
// events held 48.5 MiB against 11.5 for ordinary ones (every dictionary column held
// every value, three times over; dictionaries now capped and counted), and
// adversarial-recent ones, with row groups of 16 MiB, 20 MiB (their Parquet is a
// hundred times bigger; row groups now of 8 MiB).
func TestSoakTrafficHoldsAboutTheHeapOfOrdinaryTraffic(t *testing.T) {
	const n, ratio = rowsPerGroup, 1.5
	dir := t.TempDir()
	ordinary, ordHeld := writeSoakEvents(t, dir, n, soakOrdinary)
	ordinary.discard()
	tests := []struct {
		name string
		kind soakKind
	}{
		{"adversarial events, of distinct values, hold at most 1.5 times the heap of ordinary ones", soakAdversarial},
		{"adversarial-recent events, an eighth with 3 KB of random text, hold at most 1.5 times the heap of ordinary ones", soakRecent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, held := writeSoakEvents(t, dir, n, tc.kind)
			defer f.discard()
			st, err := os.Stat(f.path())
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d rows held %.1f MiB (%.1f Parquet bytes a row), ordinary ones %.1f MiB",
				n, float64(held)/(1<<20), float64(st.Size())/n, float64(ordHeld)/(1<<20))
			if float64(held) > ratio*float64(ordHeld) {
				t.Errorf("%d rows held %.1f MiB, ordinary ones %.1f MiB: want at most %.1f times as much",
					n, float64(held)/(1<<20), float64(ordHeld)/(1<<20), ratio)
			}
		})
	}
}
