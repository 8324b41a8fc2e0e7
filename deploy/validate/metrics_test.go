package validate

import (
	"go/ast"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/clicktrail/clicktrail/internal/testenv"
)

// metricKind is how a metric may be queried: counters through rate(), histograms
// through their _bucket, _sum and _count series.
type metricKind string

const (
	counter   metricKind = "counter"
	gauge     metricKind = "gauge"
	histogram metricKind = "histogram"
	summary   metricKind = "summary"
)

type metricInfo struct {
	kind   metricKind
	labels []string
	where  string
}

var constructors = map[string]metricKind{
	"NewCounter": counter, "NewCounterVec": counter, "NewCounterFunc": counter,
	"NewGauge": gauge, "NewGaugeVec": gauge, "NewGaugeFunc": gauge,
	"NewHistogram": histogram, "NewHistogramVec": histogram,
	"NewSummary": summary, "NewSummaryVec": summary,
}

// registeredMetrics reads every non-test Go file of the module and returns the
// metrics built with prometheus.NewCounter, NewGaugeVec, ...: name, kind and labels.
// A constructor whose name or labels are not literals fails the test, so that no
// metric is missed.
func registeredMetrics(t *testing.T, root string) map[string]metricInfo {
	t.Helper()
	out := map[string]metricInfo{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		name := d.Name()
		if path != root {
			if strings.HasPrefix(name, ".") || name == "node_modules" || name == "testdata" || name == "sdk-js" {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir // another module: the patched Pulsar client in internal/thirdparty
			}
		}
		for _, f := range parseGoDir(t, path) {
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				pkg, ok := sel.X.(*ast.Ident)
				kind, isCtor := constructors[sel.Sel.Name]
				if !ok || pkg.Name != "prometheus" || !isCtor {
					return true
				}
				where, _ := filepath.Rel(root, path)
				m := metricInfo{kind: kind, where: where}
				metric := metricName(t, where, call)
				if strings.HasSuffix(sel.Sel.Name, "Vec") {
					m.labels = labelNames(t, where, metric, call)
				}
				if prev, dup := out[metric]; dup {
					t.Errorf("metric %s is built twice: in %s and %s", metric, prev.where, where)
				}
				out[metric] = m
				return true
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func metricName(t *testing.T, where string, call *ast.CallExpr) string {
	t.Helper()
	if len(call.Args) == 0 {
		t.Fatalf("%s: a prometheus constructor without options", where)
	}
	lit, ok := call.Args[0].(*ast.CompositeLit)
	if !ok {
		t.Fatalf("%s: prometheus options that are not a literal: the metric name cannot be read", where)
	}
	name := ""
	for _, e := range lit.Elts {
		kv, ok := e.(*ast.KeyValueExpr)
		if !ok {
			continue
		}
		key, _ := kv.Key.(*ast.Ident)
		if key == nil {
			continue
		}
		switch key.Name {
		case "Namespace", "Subsystem":
			t.Fatalf("%s: options with %s: write the full name in Name", where, key.Name)
		case "Name":
			v, ok := kv.Value.(*ast.BasicLit)
			if !ok {
				t.Fatalf("%s: a metric Name that is not a string literal", where)
			}
			s, err := strconv.Unquote(v.Value)
			if err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			name = s
		}
	}
	if name == "" {
		t.Fatalf("%s: prometheus options without a Name", where)
	}
	return name
}

func labelNames(t *testing.T, where, metric string, call *ast.CallExpr) []string {
	t.Helper()
	if len(call.Args) < 2 {
		t.Fatalf("%s: %s: a Vec without label names", where, metric)
	}
	lit, ok := call.Args[1].(*ast.CompositeLit)
	if !ok {
		t.Fatalf("%s: %s: label names that are not a literal", where, metric)
	}
	var labels []string
	for _, e := range lit.Elts {
		v, ok := e.(*ast.BasicLit)
		if !ok {
			t.Fatalf("%s: %s: a label name that is not a string literal", where, metric)
		}
		s, _ := strconv.Unquote(v.Value)
		labels = append(labels, s)
	}
	return labels
}

func TestTheServicesMetricsAreFound(t *testing.T) {
	metrics := registeredMetrics(t, testenv.Root(t))
	for name, want := range map[string]metricKind{
		"clicktrail_collector_events_accepted_total": counter,
		"clicktrail_collector_publish_seconds":       histogram,
		"clicktrail_processor_open_sessions":         gauge,
		"clicktrail_archiver_files_total":            counter,
	} {
		if got := metrics[name]; got.kind != want {
			t.Errorf("metric %s: found %q, want a %s", name, got.kind, want)
		}
	}
	if got := metrics["clicktrail_collector_events_rejected_total"].labels; !slices.Contains(got, "reason") {
		t.Errorf("labels of clicktrail_collector_events_rejected_total: %v, want reason among them", got)
	}
}
