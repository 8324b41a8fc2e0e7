package schemas

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

type vectorFile struct {
	Valid []struct {
		Name  string          `json:"name"`
		Event json.RawMessage `json:"event"`
	} `json:"valid"`
	Invalid []struct {
		Name   string          `json:"name"`
		Field  string          `json:"field"`
		Reason string          `json:"reason"`
		Event  json.RawMessage `json:"event"`
	} `json:"invalid"`
}

func loadVectors(t testing.TB) vectorFile {
	t.Helper()
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectorFile
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("testdata/vectors.json: %v", err)
	}
	seen := map[string]bool{}
	for _, tc := range v.Valid {
		if seen[tc.Name] {
			t.Fatalf("testdata/vectors.json: two vectors are named %q", tc.Name)
		}
		seen[tc.Name] = true
	}
	for _, tc := range v.Invalid {
		if seen[tc.Name] || tc.Reason == "" {
			t.Fatalf("testdata/vectors.json: %q is named twice or has no reason", tc.Name)
		}
		seen[tc.Name] = true
	}
	if len(v.Valid) < 20 || len(v.Invalid) < 20 {
		t.Fatalf("testdata/vectors.json has %d valid and %d invalid vectors, want at least 20 each", len(v.Valid), len(v.Invalid))
	}
	return v
}

// compileSchema compiles envelope.json (and the per-type files) from jsonschema/.
func compileSchema(t testing.TB, name string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	files, err := filepath.Glob("jsonschema/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no schema files in jsonschema/: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if err := c.AddResource("https://schemas.clicktrail.dev/"+filepath.Base(f), doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	s, err := c.Compile("https://schemas.clicktrail.dev/" + name)
	if err != nil {
		t.Fatalf("compile %s: %v", name, err)
	}
	return s
}

func schemaAccepts(t *testing.T, s *jsonschema.Schema, raw []byte) error {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("vector is not JSON: %v", err)
	}
	return s.Validate(doc)
}

func TestValidVectorsAreAcceptedByGoAndJSONSchema(t *testing.T) {
	v := loadVectors(t)
	envelope := compileSchema(t, "envelope.json")
	for _, tc := range v.Valid {
		t.Run(tc.Name, func(t *testing.T) {
			e, err := ParseEvent(tc.Event)
			if err == nil {
				err = e.Validate()
			}
			if err != nil {
				t.Errorf("Go rejects a valid event: %v", err)
			}
			if err := schemaAccepts(t, envelope, tc.Event); err != nil {
				t.Errorf("JSON Schema rejects a valid event: %v", err)
			}
			if e != nil {
				typed := compileSchema(t, e.Type+".json")
				if err := schemaAccepts(t, typed, tc.Event); err != nil {
					t.Errorf("%s.json rejects a valid %s event: %v", e.Type, e.Type, err)
				}
			}
		})
	}
}

func TestInvalidVectorsAreRejectedByGoAndJSONSchemaForTheirReason(t *testing.T) {
	v := loadVectors(t)
	envelope := compileSchema(t, "envelope.json")
	for _, tc := range v.Invalid {
		t.Run(tc.Name, func(t *testing.T) {
			e, err := ParseEvent(tc.Event)
			if err == nil {
				err = e.Validate()
			}
			var ve *ValidationError
			switch {
			case err == nil:
				t.Errorf("Go accepts an invalid event")
			case !errors.As(err, &ve):
				t.Errorf("Go error %T %v is not a *ValidationError", err, err)
			case ve.Field != tc.Field || !strings.Contains(ve.Reason, tc.Reason):
				t.Errorf("Go says %q, want field %q with reason containing %q", err, tc.Field, tc.Reason)
			}
			if err := schemaAccepts(t, envelope, tc.Event); err == nil {
				t.Errorf("JSON Schema accepts an invalid event")
			}
		})
	}
}

func BenchmarkParseAndValidate(b *testing.B) {
	raw := []byte(`{"type":"page","name":"Product","messageId":"3f1c2a8e-8a4b-4c1e-9f6d-2b7e5a1c9d40","anonymousId":"6d0f5c3e-1b2a-4e8f-a7c9-0e1d2f3a4b5c","timestamp":"2026-11-25T10:00:00.000Z","sentAt":"2026-11-25T10:00:01.000Z","context":{"page":{"url":"https://shop.example/products/42?utm_source=news","path":"/products/42","title":"Blue shoes","referrer":"https://news.example/"},"userAgent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36","locale":"en-GB","timezone":"Europe/London","screen":{"width":1920,"height":1080,"density":2},"library":{"name":"clicktrail-sdk","version":"0.1.0"}},"properties":{"sku":"42","price":59.9}}`)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		e, err := ParseEvent(raw)
		if err != nil {
			b.Fatal(err)
		}
		if err := e.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}
