package collector

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"

	"github.com/clicktrail/clicktrail/internal/sources"
	"github.com/clicktrail/clicktrail/schemas"
)

// api holds what the HTTP handlers share.
type api struct {
	cfg      *Config
	sources  sources.Sources
	byKey    map[string]*sources.Source // sources by write key
	pub      Publisher
	log      *slog.Logger
	metrics  *metrics
	now      func() time.Time
	inFlight chan struct{}
	work     chan struct{}            // the CPU slots: see handle
	limiters map[string]*rate.Limiter // by write key
	enricher *enricher
	bodies   bodyPool
}

func newAPI(cfg *Config, ss sources.Sources, pub Publisher, log *slog.Logger, m *metrics, now func() time.Time) *api {
	a := &api{
		cfg: cfg, sources: ss, byKey: ss.ByWriteKey(), pub: pub, log: log, metrics: m, now: now,
		inFlight: make(chan struct{}, cfg.MaxInFlight),
		work:     make(chan struct{}, 2*runtime.GOMAXPROCS(0)),
		limiters: map[string]*rate.Limiter{},
		enricher: newEnricher(cfg.KeepFullIP),
	}
	for key, s := range a.byKey {
		if s.RateLimit.EventsPerSecond > 0 {
			burst := max(s.RateLimit.Burst, schemas.MaxBatchEvents)
			a.limiters[key] = rate.NewLimiter(rate.Limit(s.RateLimit.EventsPerSecond), burst)
		}
	}
	return a
}

// response is the answer to an accepted request.
type response struct {
	Accepted int        `json:"accepted"`
	Rejected []rejected `json:"rejected"`
}

type rejected struct {
	Index  int    `json:"index"`
	Reason string `json:"reason"`
}

type errorBody struct {
	Error string `json:"error"`
}

// fail answers with status and a message naming what is wrong.
func fail(c *gin.Context, status int, msg string, retryAfter int) {
	if retryAfter > 0 {
		c.Header("Retry-After", strconv.Itoa(retryAfter))
	}
	c.AbortWithStatusJSON(status, errorBody{Error: msg})
}

// refuseWhenFull answers 503 at once, before the body is read, when every in-flight
// slot is taken: the request could not take one once its body is in. It takes no slot
// itself; see enterInFlight.
func (a *api) refuseWhenFull(c *gin.Context) {
	if len(a.inFlight) == cap(a.inFlight) {
		fail(c, http.StatusServiceUnavailable, "collector overloaded: too many requests in flight", 1)
	}
}

// enterInFlight takes one of the MaxInFlight slots, or reports false at once when none
// is free. A request takes it only once its body has arrived whole: a client that
// trickles its body holds a connection, a goroutine and the bytes it sent, never a
// slot, so thousands of slow clients cannot lock others out (the server's ReadTimeout
// cuts them off). leaveInFlight gives the slot back.
func (a *api) enterInFlight() bool {
	select {
	case a.inFlight <- struct{}{}:
		a.metrics.inFlight.Inc()
		return true
	default:
		return false
	}
}

func (a *api) leaveInFlight() {
	<-a.inFlight
	a.metrics.inFlight.Dec()
}

// handle serves an ingest route (see ingestRoutes): it answers 200 only once Pulsar has
// acknowledged every event of the request, valid ones to the source's events topic and
// invalid ones, with their reason, to its events-invalid topic.
func (a *api) handle(rt ingestRoute) gin.HandlerFunc {
	typ := rt.typ
	endpoint := "batch"
	if typ != "" {
		endpoint = typ
	}
	return func(c *gin.Context) {
		start := a.now()
		defer func() {
			a.metrics.requests.WithLabelValues(endpoint, strconv.Itoa(c.Writer.Status())).Inc()
			a.metrics.requestSeconds.Observe(time.Since(start).Seconds())
		}()
		gzipped, err := checkBodyHeaders(c.Request)
		if err != nil {
			fail(c, http.StatusUnsupportedMediaType, err.Error(), 0)
			return
		}
		// The body as sent, and decompressed. releaseBodies gives the buffers back.
		// Nothing holds on to the body by then: events are copied when decoded,
		// invalid ones into their record.
		var held [2]*bytes.Buffer
		releaseBodies := func() {
			for i, b := range held {
				if b != nil {
					a.bodies.put(b)
					held[i] = nil
				}
			}
		}
		defer releaseBodies()
		held[0] = a.bodies.get()
		a.metrics.reading.Inc()
		body, err := readBody(c.Request.Body, a.cfg.MaxBody, held[0])
		a.metrics.reading.Dec()
		switch {
		case errors.Is(err, errTooLarge):
			fail(c, http.StatusRequestEntityTooLarge, err.Error(), 0)
			return
		case errors.Is(err, errReadTimeout):
			c.Header("Connection", "close")
			fail(c, http.StatusRequestTimeout, "request body not received within "+a.cfg.ReadTimeout.String(), 0)
			return
		case err != nil:
			fail(c, http.StatusBadRequest, err.Error(), 0)
			return
		}
		if !a.enterInFlight() {
			fail(c, http.StatusServiceUnavailable, "collector overloaded: too many requests in flight", 1)
			return
		}
		defer a.leaveInFlight()
		// Decoding, enriching and encoding take CPU and memory; reading the body and
		// waiting for Pulsar take neither. So of the requests in flight, only two per
		// CPU do the former at once; the others wait here holding their body alone.
		// Under overload this keeps the memory of the requests in flight small and
		// flat, and the goroutines that compete for the CPU few, so the refusals of
		// refuseWhenFull go out at once.
		select {
		case a.work <- struct{}{}:
		case <-c.Request.Context().Done():
			// The client has gone; the answer is for the metrics.
			fail(c, http.StatusServiceUnavailable, "collector overloaded: try again shortly", 1)
			return
		}
		working := true
		stopWorking := func() {
			if working {
				working = false
				<-a.work
			}
		}
		defer stopWorking()
		if gzipped {
			held[1] = a.bodies.get()
			if body, err = gunzip(body, a.cfg.MaxBody, held[1]); err != nil {
				status := http.StatusBadRequest
				if errors.Is(err, errTooLarge) {
					status = http.StatusRequestEntityTooLarge
				}
				fail(c, status, err.Error(), 0)
				return
			}
		}
		a.metrics.bytesIn.Add(float64(len(body)))
		// Valid UTF-8 is the rule: one pass over the body says so, and only a body
		// that is not gets its stored texts repaired (repairUTF8).
		validUTF8 := utf8.Valid(body)
		var req *batchRequest
		if typ == "" {
			req, err = parseBatch(body)
		} else {
			req, err = parseSingle(body, typ)
		}
		switch {
		case errors.Is(err, errTooManyEvents):
			fail(c, http.StatusRequestEntityTooLarge, err.Error(), 0)
			return
		case err != nil:
			fail(c, http.StatusBadRequest, err.Error(), 0)
			return
		}

		src := a.authenticate(c, req.WriteKey, rt.keyInQuery)
		if src == nil {
			fail(c, http.StatusUnauthorized, "unknown or missing write key: send it as the Basic auth user name, an X-Write-Key header or writeKey in the body", 0)
			return
		}
		if origin := c.GetHeader("Origin"); origin != "" && !src.AllowsOrigin(origin) {
			fail(c, http.StatusForbidden, "origin "+origin+" may not send with this write key", 0)
			return
		}
		if lim := a.limiters[src.WriteKey]; lim != nil {
			r := lim.ReserveN(a.now(), len(req.Batch))
			if delay := r.DelayFrom(a.now()); !r.OK() || delay > 0 {
				r.CancelAt(a.now())
				fail(c, http.StatusTooManyRequests, "rate limit of source "+src.ID+" exceeded", max(1, int(delay.Seconds()+0.999)))
				return
			}
		}

		if !validUTF8 {
			a.repairUTF8(req)
		}
		info := &requestInfo{receivedAt: start.UTC(), clientIP: a.clientIP(c), headers: readHeaders(c.Request.Header, a.metrics), source: src, sentAt: req.SentAt}
		ctx, cancel := context.WithTimeout(c.Request.Context(), a.cfg.PublishTimeout)
		defer cancel()
		sent := a.send(ctx, req, info)
		stopWorking()
		releaseBodies()
		resp, err := sent.wait(ctx)
		switch {
		case errors.Is(err, ErrOverloaded):
			fail(c, http.StatusServiceUnavailable, "collector overloaded: try again shortly", 1)
		case err != nil:
			a.log.Warn("publish failed", "err", err, "tenant", src.Tenant)
			fail(c, http.StatusServiceUnavailable, "events not stored: the message broker is unavailable, try again", 5)
		default:
			c.JSON(http.StatusOK, resp)
		}
	}
}

// authenticate finds the source by the write key in the X-Write-Key header, HTTP Basic
// auth (as the user name), the body, or, when inQuery (a beacon, which cannot set
// headers), the writeKey query parameter.
func (a *api) authenticate(c *gin.Context, bodyKey string, inQuery bool) *sources.Source {
	key := c.GetHeader("X-Write-Key")
	if user, _, ok := c.Request.BasicAuth(); ok && key == "" {
		key = user
	}
	if key == "" {
		key = bodyKey
	}
	if key == "" && inQuery {
		key = c.Query("writeKey")
	}
	if key == "" {
		return nil
	}
	return a.byKey[key]
}

// clientIP is the connection's address, or the left-most untrusted address of
// X-Forwarded-For when the connection comes from a trusted proxy.
func (a *api) clientIP(c *gin.Context) netip.Addr {
	host, _, err := net.SplitHostPort(c.Request.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !a.trusted(ip) {
		return ip
	}
	hops := strings.Split(c.GetHeader("X-Forwarded-For"), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return ip
		}
		if !a.trusted(hop) {
			return hop
		}
		ip = hop
	}
	return ip
}

func (a *api) trusted(ip netip.Addr) bool {
	for _, p := range a.cfg.TrustedProxies {
		if p.Contains(ip.Unmap()) {
			return true
		}
	}
	return false
}

func reasonLabel(ve *schemas.ValidationError) string {
	if strings.HasPrefix(ve.Reason, "malformed JSON") {
		return "malformed_json"
	}
	field := ve.Field
	if field == "" {
		field = "event"
	}
	reason := ve.Reason
	if i := strings.IndexAny(reason, "0123456789"); i > 0 {
		reason = strings.TrimSpace(reason[:i])
	}
	return field + ": " + reason
}
