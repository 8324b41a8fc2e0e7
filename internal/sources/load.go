package sources

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/clicktrail/clicktrail/schemas"
)

// Load reads and checks a sources file. It reports every problem of the file at once,
// each naming the source (by id, or by position when it has none) and the key.
func Load(path string) (Sources, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read sources file: %w", err)
	}
	ss, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("sources file %s: %w", path, err)
	}
	return ss, nil
}

// Parse checks the content of a sources file: YAML with one key, sources, a list of
// Source. A key that Source does not have is an error, so a misspelt key is refused
// instead of silently leaving its setting at the default.
func Parse(b []byte) (Sources, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	var f file
	var errs []error
	if len(doc.Content) > 0 { // an empty file has none
		if err := doc.Content[0].Decode(&f); err != nil {
			return nil, fmt.Errorf("parse: %w", err)
		}
		for _, key := range unknownKeys(doc.Content[0], reflect.TypeFor[file](), "") {
			errs = append(errs, fmt.Errorf("unknown key %s: the file's one key is sources", key))
		}
	}
	var out Sources
	byWriteKey := map[string]*Source{}
	for i := range f.Sources {
		n := &f.Sources[i]
		s := &Source{}
		err := n.Decode(s)
		name := s.ID
		if name == "" {
			name = strconv.Itoa(i) + " (line " + strconv.Itoa(n.Line) + ")"
		}
		bad := func(err error) { errs = append(errs, fmt.Errorf("source %s: %w", name, err)) }
		if err != nil {
			bad(err)
		}
		for _, key := range unknownKeys(n, reflect.TypeFor[Source](), "") {
			bad(fmt.Errorf("unknown key %s", key))
		}
		switch {
		case s.ID == "":
			bad(errors.New("id is required"))
		case s.WriteKey == "":
			bad(errors.New("writeKey is required"))
		case byWriteKey[s.WriteKey] != nil:
			bad(fmt.Errorf("writeKey is also used by source %s", byWriteKey[s.WriteKey].ID))
		case s.RateLimit.EventsPerSecond < 0 || s.RateLimit.Burst < 0:
			bad(errors.New("rateLimit must not be negative"))
		}
		if err := schemas.CheckNamespace(s.Tenant, s.Namespace); err != nil {
			bad(err)
		}
		if s.Timezone != "" {
			if _, err := time.LoadLocation(s.Timezone); err != nil {
				bad(fmt.Errorf("timezone: %w", err))
			}
		}
		byWriteKey[s.WriteKey] = s
		out = append(out, s)
	}
	if len(out) == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("no sources"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// file is the sources file; each source is decoded by itself, so that its errors can
// name it.
type file struct {
	Sources []yaml.Node `yaml:"sources"`
}

// unknownKeys returns the keys of the mapping n that are not yaml names of a field of
// the struct type t, looking into the mappings of struct fields too ("rateLimit.burts"),
// each with its line. yaml's own strict mode says the line but not the source.
func unknownKeys(n *yaml.Node, t reflect.Type, prefix string) []string {
	if n.Kind != yaml.MappingNode {
		return nil // not a mapping: Decode has said so
	}
	var out []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, value := n.Content[i], n.Content[i+1]
		f, ok := fieldOf(t, key.Value)
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%q (line %d)", prefix+key.Value, key.Line))
		case f.Type.Kind() == reflect.Struct:
			out = append(out, unknownKeys(value, f.Type, prefix+key.Value+".")...)
		}
	}
	return out
}

// fieldOf finds the field of struct type t whose yaml tag is name.
func fieldOf(t reflect.Type, name string) (reflect.StructField, bool) {
	for f := range t.Fields() {
		if f.Tag.Get("yaml") == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}
