package processor

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/clicktrail/clicktrail/internal/sources"
)

// Limits of one stats query.
const (
	maxRange  = 93 * 24 * time.Hour
	maxPoints = 5000
)

// Handler serves the dashboard page, its API, /healthz, /readyz and /metrics.
func (p *Processor) Handler() http.Handler {
	mux := p.health.Mux(p.reg)
	a := &statsAPI{store: p.store, keys: readKeys(p.sources), now: time.Now}
	mux.Handle("GET /api/v1/stats", a)
	mux.Handle("GET /", dashboardHandler())
	return mux
}

// statsAPI answers GET /api/v1/stats?tenant=T&from=&to=&interval=&limit=
//
// Authentication: the tenant's read key (a source's readKey in the sources file), as
// "Authorization: Bearer <key>" or the key query parameter (the dashboard page's).
// from and to are RFC 3339 or Unix seconds [the last hour]; interval is a Go duration,
// whole minutes [1m]; limit bounds each top list [10]. Ranges are read by minute,
// hour or day (see Store.Query): one that starts before the minutes kept needs an
// interval of whole hours, before the hours kept whole days (400 otherwise).
type statsAPI struct {
	store *Store
	keys  map[string][]string // tenant → read keys
	now   func() time.Time
}

func readKeys(ss sources.Sources) map[string][]string {
	out := map[string][]string{}
	for _, s := range ss {
		if s.ReadKey != "" {
			out[s.Tenant] = append(out[s.Tenant], s.ReadKey)
		}
	}
	return out
}

func (a *statsAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	tenant := q.Get("tenant")
	if tenant == "" {
		writeError(w, http.StatusBadRequest, "tenant is required")
		return
	}
	if !a.authorized(tenant, r) {
		writeError(w, http.StatusUnauthorized, "a read key of this tenant is required (Authorization: Bearer <readKey>)")
		return
	}
	now := a.now()
	to, err := parseTime(q.Get("to"), now)
	if err != nil {
		writeError(w, http.StatusBadRequest, "to: "+err.Error())
		return
	}
	from, err := parseTime(q.Get("from"), to.Add(-time.Hour))
	if err != nil {
		writeError(w, http.StatusBadRequest, "from: "+err.Error())
		return
	}
	step := time.Minute
	if v := q.Get("interval"); v != "" {
		if step, err = time.ParseDuration(v); err != nil || step < time.Minute || step%time.Minute != 0 {
			writeError(w, http.StatusBadRequest, "interval: want a whole number of minutes, like 1m, 5m or 1h")
			return
		}
	}
	limit := 10
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 1000 {
			writeError(w, http.StatusBadRequest, "limit: want 1 to 1000")
			return
		}
	}
	switch {
	case !from.Before(to):
		writeError(w, http.StatusBadRequest, "from must be before to")
		return
	case to.Sub(from) > maxRange:
		writeError(w, http.StatusBadRequest, "the range is longer than 93 days")
		return
	case to.Sub(from)/step > maxPoints:
		writeError(w, http.StatusBadRequest, "more than 5000 intervals: use a longer interval")
		return
	}
	st, err := a.store.Query(tenant, from, to, step, limit, now)
	if err != nil {
		writeError(w, http.StatusBadRequest, "interval: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(st)
}

func (a *statsAPI) authorized(tenant string, r *http.Request) bool {
	key := r.URL.Query().Get("key")
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		key = strings.TrimPrefix(h, "Bearer ")
	}
	if key == "" {
		return false
	}
	ok := false
	for _, k := range a.keys[tenant] {
		if subtle.ConstantTimeCompare([]byte(k), []byte(key)) == 1 {
			ok = true
		}
	}
	return ok
}

func parseTime(v string, def time.Time) (time.Time, error) {
	if v == "" {
		return def, nil
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Unix(n, 0).UTC(), nil
	}
	return time.Parse(time.RFC3339, v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
