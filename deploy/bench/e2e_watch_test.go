//go:build linux

package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/parquet-go/parquet-go"

	"github.com/clicktrail/clicktrail/processor"
)

// dashboard asks the processor's API what a dashboard shows.
type dashboard struct {
	addr, tenant, readKey string
	client                *http.Client
}

// stats returns the tenant's numbers from an hour before since to an hour from now,
// with every event name (up to 1,000) in the events list.
func (d dashboard) stats(ctx context.Context, since time.Time) (processor.Stats, error) {
	u := fmt.Sprintf("http://%s/api/v1/stats?tenant=%s&from=%d&to=%d&interval=1m&limit=1000",
		d.addr, url.QueryEscape(d.tenant), since.Add(-time.Hour).Unix(), time.Now().Add(time.Hour).Unix())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return processor.Stats{}, err
	}
	req.Header.Set("Authorization", "Bearer "+d.readKey)
	resp, err := d.client.Do(req)
	if err != nil {
		return processor.Stats{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return processor.Stats{}, fmt.Errorf("stats: %s %s", resp.Status, b)
	}
	var st processor.Stats
	err = json.NewDecoder(resp.Body).Decode(&st)
	return st, err
}

// arrivals records when each sample batch was first seen whole (all its events).
type arrivals struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

func (a *arrivals) see(name string, at time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.seen == nil {
		a.seen = map[string]time.Time{}
	}
	if _, ok := a.seen[name]; !ok {
		a.seen[name] = at
	}
}

func (a *arrivals) at(name string) (time.Time, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.seen[name]
	return t, ok
}

func (a *arrivals) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.seen)
}

// watchDashboard polls the API every poll until ctx ends and records in a when the
// events list first counts a sample's whole batch ("track/<sample>", count 20). The
// time recorded is the answer's: at most one poll interval (and one request) after
// the batch became visible.
func watchDashboard(ctx context.Context, d dashboard, since time.Time, prefix string, poll time.Duration, a *arrivals) {
	for ctx.Err() == nil {
		st, err := d.stats(ctx, since)
		at := time.Now()
		if err == nil {
			for _, e := range st.Events {
				if name, ok := strings.CutPrefix(e.Name, "track/"); ok && strings.HasPrefix(name, prefix) && e.Count >= batchSize {
					a.see(name, at)
				}
			}
		}
		sleepCtx(ctx, poll)
	}
}

// lake reads the archive's events table as it grows: each new Parquet object once,
// counting its rows and, in its event column, the rows of sample batches.
type lake struct {
	s3             *minio.Client
	bucket, prefix string
	samplePrefix   string // "": rows are only counted

	mu      sync.Mutex
	objects map[string]bool
	rows    int64
	samples map[string]int
}

func newLake(s3 *minio.Client, bucket, keyPrefix, samplePrefix string) *lake {
	return &lake{s3: s3, bucket: bucket, prefix: keyPrefix + "events/", samplePrefix: samplePrefix,
		objects: map[string]bool{}, samples: map[string]int{}}
}

// sync reads the objects stored since the last call, and returns when the listing
// that found them came back: after they were stored, by at most the time since the
// previous listing and the listing's own. A sample batch now whole gets that time.
func (l *lake) sync(ctx context.Context, a *arrivals) (listed time.Time, err error) {
	var fresh []string
	for obj := range l.s3.ListObjects(ctx, l.bucket, minio.ListObjectsOptions{Prefix: l.prefix, Recursive: true}) {
		if obj.Err != nil {
			return time.Time{}, fmt.Errorf("list %s: %w", l.prefix, obj.Err)
		}
		l.mu.Lock()
		seen := l.objects[obj.Key]
		l.mu.Unlock()
		if !seen && strings.HasSuffix(obj.Key, ".parquet") {
			fresh = append(fresh, obj.Key)
		}
	}
	listed = time.Now()
	for _, key := range fresh {
		rows, names, err := l.read(ctx, key)
		if err != nil {
			return time.Time{}, err
		}
		l.mu.Lock()
		l.objects[key] = true
		l.rows += rows
		for name, n := range names {
			l.samples[name] += n
			if l.samples[name] >= batchSize && a != nil {
				a.see(name, listed)
			}
		}
		l.mu.Unlock()
	}
	return listed, nil
}

// read downloads one object and returns its row count and the rows of each sample
// name in its event column.
func (l *lake) read(ctx context.Context, key string) (int64, map[string]int, error) {
	o, err := l.s3.GetObject(ctx, l.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return 0, nil, fmt.Errorf("get %s: %w", key, err)
	}
	b, err := io.ReadAll(o)
	o.Close()
	if err != nil {
		return 0, nil, fmt.Errorf("read %s: %w", key, err)
	}
	f, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return 0, nil, fmt.Errorf("open %s: %w", key, err)
	}
	if l.samplePrefix == "" {
		return f.NumRows(), nil, nil
	}
	col, ok := f.Schema().Lookup("event")
	if !ok {
		return 0, nil, fmt.Errorf("%s has no event column", key)
	}
	names := map[string]int{}
	values := make([]parquet.Value, 1024)
	for _, rg := range f.RowGroups() {
		r := parquet.NewColumnChunkValueReader(rg.ColumnChunks()[col.ColumnIndex])
		for {
			n, err := r.ReadValues(values)
			for _, v := range values[:n] {
				if s := v.String(); strings.HasPrefix(s, l.samplePrefix) {
					names[s]++
				}
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				r.Close()
				return 0, nil, fmt.Errorf("read the event column of %s: %w", key, err)
			}
		}
		r.Close()
	}
	return f.NumRows(), names, nil
}

// stored is the number of rows in the objects read so far.
func (l *lake) stored() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rows
}

// watchLake syncs every poll until ctx ends.
func watchLake(ctx context.Context, l *lake, poll time.Duration, a *arrivals, errs chan<- error) {
	for ctx.Err() == nil {
		if _, err := l.sync(ctx, a); err != nil && ctx.Err() == nil {
			select {
			case errs <- err:
			default:
			}
		}
		sleepCtx(ctx, poll)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
