package collector

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	gojson "github.com/goccy/go-json"
	"github.com/google/uuid"
	"golang.org/x/time/rate"

	"github.com/clicktrail/clicktrail/schemas"
)

// api holds what the HTTP handlers share.
type api struct {
	cfg      *Config
	sources  Sources
	pub      Publisher
	log      *slog.Logger
	metrics  *metrics
	now      func() time.Time
	inFlight chan struct{}
	limiters map[string]*rate.Limiter // by write key
}

func newAPI(cfg *Config, sources Sources, pub Publisher, log *slog.Logger, m *metrics, now func() time.Time) *api {
	a := &api{
		cfg: cfg, sources: sources, pub: pub, log: log, metrics: m, now: now,
		inFlight: make(chan struct{}, cfg.MaxInFlight),
		limiters: map[string]*rate.Limiter{},
	}
	for key, s := range sources {
		if s.RateLimit.EventsPerSecond > 0 {
			burst := max(s.RateLimit.Burst, schemas.MaxBatchEvents)
			a.limiters[key] = rate.NewLimiter(rate.Limit(s.RateLimit.EventsPerSecond), burst)
		}
	}
	return a
}

// routes registers the Segment Tracking API endpoints on r.
func (a *api) routes(r gin.IRouter) {
	r.OPTIONS("/v1/*path", a.preflight)
	r.POST("/v1/batch", a.cors, a.limitInFlight, a.handle(""))
	for _, typ := range []string{schemas.TypeTrack, schemas.TypePage, schemas.TypeScreen, schemas.TypeIdentify, schemas.TypeGroup, schemas.TypeAlias} {
		r.POST("/v1/"+typ, a.cors, a.limitInFlight, a.handle(typ))
	}
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

// limitInFlight answers 503 at once when MaxInFlight requests are being handled.
func (a *api) limitInFlight(c *gin.Context) {
	select {
	case a.inFlight <- struct{}{}:
	default:
		fail(c, http.StatusServiceUnavailable, "collector overloaded: too many requests in flight", 1)
		return
	}
	a.metrics.inFlight.Inc()
	defer func() { <-a.inFlight; a.metrics.inFlight.Dec() }()
	c.Next()
}

func (a *api) preflight(c *gin.Context) {
	origin := c.GetHeader("Origin")
	if origin == "" || !a.sources.AnyAllowsOrigin(origin) {
		c.AbortWithStatus(http.StatusForbidden)
		return
	}
	a.corsHeaders(c, origin)
	c.Header("Access-Control-Allow-Methods", "POST, OPTIONS")
	c.Header("Access-Control-Allow-Headers", "Content-Type, Content-Encoding, Authorization, X-Write-Key, traceparent")
	c.Header("Access-Control-Max-Age", "86400")
	c.AbortWithStatus(http.StatusNoContent)
}

func (a *api) corsHeaders(c *gin.Context, origin string) {
	c.Header("Access-Control-Allow-Origin", origin)
	c.Header("Access-Control-Allow-Credentials", "true")
	c.Header("Access-Control-Expose-Headers", "Retry-After")
	c.Header("Vary", "Origin")
}

// cors lets a page of any known origin read every answer, errors included, so a
// browser SDK can tell a 401 (drop) from a network failure (retry) and read
// Retry-After. Whether the origin may send with the request's write key is checked
// once the key is known.
func (a *api) cors(c *gin.Context) {
	if origin := c.GetHeader("Origin"); origin != "" && a.sources.AnyAllowsOrigin(origin) {
		a.corsHeaders(c, origin)
	}
}

// handle serves /v1/batch (typ "") and the single-event endpoints: it answers 200 only
// once Pulsar has acknowledged every event of the request, valid ones to the source's
// events topic and invalid ones, with their reason, to its events-invalid topic.
func (a *api) handle(typ string) gin.HandlerFunc {
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
		body, err := readBody(c.Request, a.cfg.MaxBody)
		switch {
		case errors.Is(err, errTooLarge):
			fail(c, http.StatusRequestEntityTooLarge, err.Error(), 0)
			return
		case errors.Is(err, errNotJSON), errors.Is(err, errUnsupported):
			fail(c, http.StatusUnsupportedMediaType, err.Error(), 0)
			return
		case err != nil:
			fail(c, http.StatusBadRequest, err.Error(), 0)
			return
		}
		a.metrics.bytesIn.Add(float64(len(body)))
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

		src := a.authenticate(c, req.WriteKey)
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

		info := &requestInfo{receivedAt: start.UTC(), clientIP: a.clientIP(c), userAgent: c.GetHeader("User-Agent"), source: src, sentAt: req.SentAt}
		ctx, cancel := context.WithTimeout(c.Request.Context(), a.cfg.PublishTimeout)
		defer cancel()
		resp, err := a.publish(ctx, req, info, c.GetHeader("traceparent"), c.GetHeader("X-Request-Id"))
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

// publish validates, enriches and publishes every event of req, and waits for all the
// acknowledgements (or ctx). Any failure fails the request: the client retries it whole
// and de-duplication by messageId removes what had already been stored.
func (a *api) publish(ctx context.Context, req *batchRequest, info *requestInfo, traceparent, requestID string) (*response, error) {
	src := info.source
	resp := &response{Rejected: []rejected{}}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	if requestID == "" {
		requestID = uuid.NewString()
	}
	send := func(topic string, msg *Message) {
		wg.Add(1)
		a.metrics.pending.Inc()
		a.pub.PublishAsync(ctx, topic, msg, func(err error) {
			a.metrics.pending.Dec()
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
			wg.Done()
		})
	}
	props := func() map[string]string {
		p := map[string]string{"source": src.ID, "request_id": requestID}
		if traceparent != "" {
			p["traceparent"] = traceparent
		}
		return p
	}

	accepted := 0
	for i, raw := range req.Batch {
		e, err := schemas.ParseEvent(raw)
		if err == nil {
			err = e.Validate()
		}
		if err != nil {
			var ve *schemas.ValidationError
			if !errors.As(err, &ve) {
				ve = &schemas.ValidationError{Reason: err.Error()}
			}
			resp.Rejected = append(resp.Rejected, rejected{Index: i, Reason: ve.Error()})
			a.metrics.eventsRejected.WithLabelValues(src.Tenant, reasonLabel(ve)).Inc()
			inv := schemas.InvalidEvent{
				Reason: ve.Reason, Field: ve.Field, Index: i, ReceivedAt: info.receivedAt,
				Tenant: src.Tenant, Source: src.ID, RequestID: requestID, UserAgent: info.userAgent,
			}
			if json.Valid(raw) {
				inv.Raw = raw
			} else {
				inv.RawText = string(raw)
			}
			if e != nil {
				inv.MessageID, inv.UserKey = e.MessageID, e.UserKey()
			}
			payload, _ := json.Marshal(inv)
			send(src.Topic(schemas.TopicInvalid), &Message{Key: inv.UserKey, Payload: payload, Properties: props(), EventTime: info.receivedAt})
			continue
		}
		enrich(e, info, a.cfg.KeepFullIP)
		payload, err := gojson.Marshal(e)
		if err != nil {
			return nil, err
		}
		p := props()
		p["message_id"] = e.MessageID
		send(src.Topic(schemas.TopicEvents), &Message{Key: e.UserKey(), Payload: payload, Properties: p, EventTime: e.Timestamp.Time})
		accepted++
	}

	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if firstErr != nil {
		return nil, firstErr
	}
	resp.Accepted = accepted
	a.metrics.eventsAccepted.WithLabelValues(src.Tenant).Add(float64(accepted))
	return resp, nil
}

// authenticate finds the source by the write key in HTTP Basic auth (as the user
// name), the X-Write-Key header, or the body.
func (a *api) authenticate(c *gin.Context, bodyKey string) *Source {
	key := c.GetHeader("X-Write-Key")
	if user, _, ok := c.Request.BasicAuth(); ok && key == "" {
		key = user
	}
	if key == "" {
		key = bodyKey
	}
	if key == "" {
		return nil
	}
	return a.sources[key]
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
