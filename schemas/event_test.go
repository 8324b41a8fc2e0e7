package schemas

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestReEncodingAnEventKeepsUnknownContextKeys(t *testing.T) {
	raw := []byte(`{"type":"page","anonymousId":"a","context":{"page":{"url":"https://x.example/"},"custom":{"k":[1,2]}}}`)
	e, err := ParseEvent(raw)
	if err != nil {
		t.Fatal(err)
	}
	if e.Ctx.Page.URL != "https://x.example/" {
		t.Errorf("typed context view: page url = %q", e.Ctx.Page.URL)
	}
	out, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte(`"custom":{"k":[1,2]}`)) {
		t.Errorf("re-encoded event lost an unknown context key: %s", out)
	}
	if strings.Contains(string(out), `"Ctx"`) || strings.Contains(string(out), `"Page"`) {
		t.Errorf("the typed view was encoded beside the raw context: %s", out)
	}
}

func TestNullAndAbsentEncodeAlike(t *testing.T) {
	a, err := ParseEvent([]byte(`{"type":"track","event":"x","anonymousId":"a","userId":null,"context":null,"properties":null,"timestamp":null}`))
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"type":"track","event":"x","anonymousId":"a"}` {
		t.Errorf("got %s", out)
	}
}
