package collector

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
)

// rudderSourceConfig is the answer of RudderStack's configuration API, the part its
// JavaScript SDK reads.
type rudderSourceConfig struct {
	Source rudderSource `json:"source"`
}

type rudderSource struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	WorkspaceID string `json:"workspaceId"`
	Enabled     bool   `json:"enabled"`
	// Config and Destinations are empty: no device-mode destination, so the SDK sends
	// every event to the data plane, the collector.
	Config       struct{}   `json:"config"`
	Destinations []struct{} `json:"destinations"`
}

// sourceConfig answers the request RudderStack's JavaScript SDK makes before it sends
// anything, GET <configUrl>/sourceConfig/?writeKey=…, with the source of the write key
// (query or Basic auth), enabled and without destinations. So the SDK's configUrl can
// point at the collector, and the SDK needs no service but the collector.
func (a *api) sourceConfig(c *gin.Context) {
	defer func() {
		a.metrics.requests.WithLabelValues("source_config", strconv.Itoa(c.Writer.Status())).Inc()
	}()
	src := a.authenticate(c, "", true)
	if src == nil {
		fail(c, http.StatusUnauthorized, "unknown or missing write key: send it as the writeKey query parameter or the Basic auth user name", 0)
		return
	}
	if origin := c.GetHeader("Origin"); origin != "" && !src.AllowsOrigin(origin) {
		fail(c, http.StatusForbidden, "origin "+origin+" may not send with this write key", 0)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, rudderSourceConfig{Source: rudderSource{
		ID: src.ID, Name: src.ID, WorkspaceID: src.Tenant, Enabled: true, Destinations: []struct{}{},
	}})
}
