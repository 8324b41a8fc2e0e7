package collector

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/clicktrail/clicktrail/schemas"
)

// ingestRoute is a path that takes events.
type ingestRoute struct {
	path string
	// typ is the event type of a one-event body, "" for a batch.
	typ string
	// keyInQuery lets the write key come in the writeKey query parameter.
	keyInQuery bool
}

// ingestRoutes lists every path the tracking clients post events to:
//   - the Segment HTTP Tracking API, /v1/batch, /v1/track, /v1/page, /v1/screen,
//     /v1/identify, /v1/group, /v1/alias: Segment's and RudderStack's server
//     libraries, RudderStack's JavaScript SDK and Clicktrail's own SDK;
//   - the short forms of analytics.js (@segment/analytics-next): /v1/b in its
//     batching mode, and in its default mode one event per request to /v1/ and the
//     type's first letter (/v1/t, /v1/p, /v1/s, /v1/i, /v1/g, /v1/a);
//   - the beacon transport of RudderStack's JavaScript SDK, /beacon/v1/batch, which
//     can set no header and so sends the write key in the query (?writeKey=).
func ingestRoutes() []ingestRoute {
	routes := []ingestRoute{
		{path: "/v1/batch"},
		{path: "/v1/b"},
		{path: "/beacon/v1/batch", keyInQuery: true},
	}
	for _, typ := range []string{schemas.TypeTrack, schemas.TypePage, schemas.TypeScreen, schemas.TypeIdentify, schemas.TypeGroup, schemas.TypeAlias} {
		routes = append(routes, ingestRoute{path: "/v1/" + typ, typ: typ}, ingestRoute{path: "/v1/" + typ[:1], typ: typ})
	}
	return routes
}

// Paths of RudderStack's JavaScript SDK's configuration request (see sourceConfig).
const (
	sourceConfigPath      = "/sourceConfig"
	sourceConfigSlashPath = "/sourceConfig/" // as the SDK asks for it
)

// allowedHeaders are the request headers a page may send across origins: exactly
// those the browser clients send that are not safelisted, and those the collector
// reads. Authorization and Content-Type (every browser client; text/plain alone
// would not need a preflight), X-Retry-Count (analytics.js's retries), AnonymousId,
// SentAt and the Rsa-* retry headers (RudderStack's JavaScript SDK); Content-Encoding,
// X-Write-Key and traceparent (read by the collector, see README).
const allowedHeaders = "Authorization, Content-Type, Content-Encoding, X-Write-Key, traceparent, X-Retry-Count, " +
	"AnonymousId, SentAt, Rsa-Recovered, Rsa-Retry-Attempt, Rsa-Since-Last-Attempt, Rsa-Since-First-Attempt, Rsa-Retry-Reason"

// routes registers the ingest routes, RudderStack's configuration request and their
// CORS preflights on r. A preflight is answered only for a path that is served;
// anything else is a 404 that carries the CORS headers too, so that a browser shows
// the real answer instead of a CORS error.
func (a *api) routes(r *gin.Engine) {
	for _, rt := range ingestRoutes() {
		r.OPTIONS(rt.path, a.preflight("POST, OPTIONS"))
		r.POST(rt.path, a.cors, a.refuseWhenFull, a.handle(rt))
	}
	for _, p := range []string{sourceConfigPath, sourceConfigSlashPath} {
		r.OPTIONS(p, a.preflight("GET, OPTIONS"))
		r.GET(p, a.cors, a.sourceConfig)
	}
	r.NoRoute(a.cors, func(c *gin.Context) {
		fail(c, http.StatusNotFound, "no such endpoint: "+c.Request.Method+" "+c.Request.URL.Path, 0)
	})
}

// preflight answers a CORS preflight of a served path for any known origin, allowing
// methods.
func (a *api) preflight(methods string) gin.HandlerFunc {
	return func(c *gin.Context) {
		origin := c.GetHeader("Origin")
		if origin == "" || !a.sources.AnyAllowsOrigin(origin) {
			c.AbortWithStatus(http.StatusForbidden)
			return
		}
		a.corsHeaders(c, origin)
		c.Header("Access-Control-Allow-Methods", methods)
		c.Header("Access-Control-Allow-Headers", allowedHeaders)
		c.Header("Access-Control-Max-Age", "86400")
		c.AbortWithStatus(http.StatusNoContent)
	}
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
