package s3x

import (
	"strings"
	"testing"
)

func TestNewClientTalksToTheEndpointAsConfigured(t *testing.T) {
	c, err := NewClient(DefaultEndpoint, DefaultAccessKey, DefaultSecretKey, false)
	if err != nil {
		t.Fatal(err)
	}
	if u := c.EndpointURL(); u.Scheme != "http" || u.Host != DefaultEndpoint {
		t.Errorf("endpoint %s, want http://%s", u, DefaultEndpoint)
	}
	c, err = NewClient("s3.example:443", "a", "b", true)
	if err != nil {
		t.Fatal(err)
	}
	if u := c.EndpointURL(); u.Scheme != "https" {
		t.Errorf("endpoint %s with TLS, want https", u)
	}
}

func TestAnEndpointWithAPathIsRefusedNamingIt(t *testing.T) {
	_, err := NewClient("127.0.0.1:9000/bucket", "a", "b", false)
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:9000/bucket") {
		t.Fatalf("err = %v, want the endpoint named", err)
	}
}
