package processor

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/clicktrail/clicktrail/schemas"
)

// Source is what the processor reads of one entry of the sources file.
type Source struct {
	ID        string `yaml:"id"`
	ReadKey   string `yaml:"readKey"`
	Tenant    string `yaml:"tenant"`
	Namespace string `yaml:"namespace"`
	// Timezone is where midnight ends a session [UTC].
	Timezone string `yaml:"timezone"`
}

// LoadSources reads the sources file (the collector's: keys the processor does not
// use are ignored).
func LoadSources(path string) ([]Source, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read sources file: %w", err)
	}
	var f struct {
		Sources []Source `yaml:"sources"`
	}
	if err := yaml.NewDecoder(bytes.NewReader(b)).Decode(&f); err != nil {
		return nil, fmt.Errorf("parse sources file %s: %w", path, err)
	}
	var errs []error
	for _, s := range f.Sources {
		if err := schemas.CheckNamespace(s.Tenant, s.Namespace); err != nil {
			errs = append(errs, fmt.Errorf("source %s: %w", s.ID, err))
		}
		if _, err := s.Location(); err != nil {
			errs = append(errs, fmt.Errorf("source %s: %w", s.ID, err))
		}
	}
	if len(f.Sources) == 0 {
		errs = append(errs, errors.New("no sources"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("sources file %s: %w", path, err)
	}
	return f.Sources, nil
}

// Location is the source's time zone.
func (s Source) Location() (*time.Location, error) {
	if s.Timezone == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(s.Timezone)
	if err != nil {
		return nil, fmt.Errorf("timezone: %w", err)
	}
	return loc, nil
}
