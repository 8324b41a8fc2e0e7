package validate

import (
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/clicktrail/clicktrail/internal/testenv"
)

// External metrics the dashboard may read besides the services' own: the broker's
// subscription backlog (exposeTopicLevelMetricsInPrometheus) and Prometheus's up.
var externalMetrics = map[string]metricKind{
	"pulsar_subscription_back_log": gauge,
	"up":                           gauge,
}

// Labels every scraped series carries besides its own: set by Prometheus (job,
// instance) and by the scrape configurations (service, pod).
var targetLabels = []string{"job", "instance", "service", "pod"}

type grafanaDashboard struct {
	UID        string `json:"uid"`
	Title      string `json:"title"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query string `json:"query"`
		} `json:"list"`
	} `json:"templating"`
	Panels []grafanaPanel `json:"panels"`
}

type grafanaPanel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	GridPos struct{ H, W, X, Y int } `json:"gridPos"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
}

// grafanaVariables stand in for Grafana's interval variables, so the PromQL parses.
var grafanaVariables = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h")

// checkPromQL parses expr and reports every metric it reads that is not registered
// (or listed in externalMetrics), queried against its kind (rate over a gauge, a
// histogram without _bucket, ...), or grouped or matched by a label it does not have.
func checkPromQL(expr string, metrics map[string]metricInfo) ([]string, []string) {
	e, err := parser.ParseExpr(grafanaVariables.Replace(expr))
	if err != nil {
		return nil, []string{fmt.Sprintf("%q: %v", expr, err)}
	}
	var read, bad []string
	parser.Inspect(e, func(n parser.Node, path []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		read = append(read, name)
		if kind, ok := externalMetrics[name]; ok {
			if kind == gauge && inside(path, "rate", "irate", "increase") {
				bad = append(bad, fmt.Sprintf("%q: rate of the gauge %s", expr, name))
			}
			return nil
		}
		base, suffix := name, ""
		for _, s := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(name, s); ok && metrics[b].kind == histogram {
				base, suffix = b, s
			}
		}
		m, ok := metrics[base]
		switch {
		case !ok:
			bad = append(bad, fmt.Sprintf("%q: metric %s is registered by no service", expr, name))
			return nil
		case m.kind == histogram && suffix == "":
			bad = append(bad, fmt.Sprintf("%q: %s is a histogram: read %s_bucket, _sum or _count", expr, name, name))
		case m.kind == gauge && inside(path, "rate", "irate", "increase"):
			bad = append(bad, fmt.Sprintf("%q: rate of the gauge %s", expr, name))
		case m.kind == counter && !inside(path, "rate", "irate", "increase"):
			bad = append(bad, fmt.Sprintf("%q: the counter %s read without rate or increase", expr, name))
		case suffix == "_bucket" && !inside(path, "histogram_quantile"):
			bad = append(bad, fmt.Sprintf("%q: %s outside histogram_quantile", expr, name))
		}
		has := append(slices.Clone(m.labels), targetLabels...)
		if suffix == "_bucket" {
			has = append(has, "le")
		}
		for _, lm := range vs.LabelMatchers {
			if lm.Name != model.MetricNameLabel && !slices.Contains(has, lm.Name) {
				bad = append(bad, fmt.Sprintf("%q: %s has no label %s", expr, name, lm.Name))
			}
		}
		for _, a := range path {
			if agg, ok := a.(*parser.AggregateExpr); ok && !agg.Without {
				for _, l := range agg.Grouping {
					if !slices.Contains(has, l) {
						bad = append(bad, fmt.Sprintf("%q: grouped by %s, a label %s does not have", expr, l, name))
					}
				}
			}
		}
		return nil
	})
	return read, bad
}

func inside(path []parser.Node, funcs ...string) bool {
	return slices.ContainsFunc(path, func(n parser.Node) bool {
		c, ok := n.(*parser.Call)
		return ok && slices.Contains(funcs, c.Func.Name)
	})
}

func TestGrafanaDashboard(t *testing.T) {
	root := testenv.Root(t)
	var d grafanaDashboard
	if err := json.Unmarshal(readFile(t, filepath.Join(root, "deploy", "observability", "grafana-dashboard.json")), &d); err != nil {
		t.Fatalf("grafana-dashboard.json: %v", err)
	}
	if d.UID == "" || d.Title == "" {
		t.Error("the dashboard needs a uid and a title")
	}
	if !slices.ContainsFunc(d.Templating.List, func(v struct {
		Name  string `json:"name"`
		Type  string `json:"type"`
		Query string `json:"query"`
	}) bool {
		return v.Name == "datasource" && v.Type == "datasource" && v.Query == "prometheus"
	}) {
		t.Error("no datasource variable of type prometheus: the dashboard would be bound to one installation's data source")
	}
	metrics := registeredMetrics(t, root)
	read := map[string]bool{}
	ids := map[int]bool{}
	cells := map[[2]int]string{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel %q: id %d used twice", p.Title, p.ID)
		}
		ids[p.ID] = true
		if p.GridPos.X < 0 || p.GridPos.W <= 0 || p.GridPos.X+p.GridPos.W > 24 || p.GridPos.H <= 0 {
			t.Errorf("panel %q: gridPos %+v outside the 24 columns", p.Title, p.GridPos)
		}
		for x := p.GridPos.X; x < p.GridPos.X+p.GridPos.W; x++ {
			for y := p.GridPos.Y; y < p.GridPos.Y+p.GridPos.H; y++ {
				if other, ok := cells[[2]int{x, y}]; ok {
					t.Errorf("panels %q and %q overlap at %d,%d", other, p.Title, x, y)
					x, y = 1<<30, 1<<30
				} else {
					cells[[2]int{x, y}] = p.Title
				}
			}
		}
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q: data source not ${datasource}", p.Title)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q: no query", p.Title)
		}
		for _, tg := range p.Targets {
			names, bad := checkPromQL(tg.Expr, metrics)
			for _, b := range bad {
				t.Errorf("panel %q: %s", p.Title, b)
			}
			for _, n := range names {
				read[n] = true
			}
		}
	}
	// What an operator opens the dashboard for (the list).
	for what, metric := range map[string]string{
		"ingest rate":        "clicktrail_collector_events_accepted_total",
		"rejects by reason":  "clicktrail_collector_events_rejected_total",
		"publish latency":    "clicktrail_collector_publish_seconds_bucket",
		"consumer lag":       "clicktrail_processor_consumer_lag_seconds",
		"archiver lag":       "clicktrail_archiver_lag_seconds",
		"subscription lag":   "pulsar_subscription_back_log",
		"files archived":     "clicktrail_archiver_files_total",
		"sessions open":      "clicktrail_processor_open_sessions",
		"upload errors":      "clicktrail_archiver_upload_errors_total",
		"responses by code":  "clicktrail_collector_requests_total",
		"processor outcomes": "clicktrail_processor_events_total",
	} {
		if !read[metric] {
			t.Errorf("no panel shows %s (%s)", what, metric)
		}
	}
}

func TestPromQLChecksCatchMistakes(t *testing.T) {
	metrics := registeredMetrics(t, testenv.Root(t))
	for _, tt := range []struct{ expr, want string }{
		{`sum(rate(clicktrail_collector_events_acepted_total[5m]))`, "registered by no service"},
		{`rate(clicktrail_processor_open_sessions[5m])`, "rate of the gauge"},
		{`sum(clicktrail_archiver_files_total)`, "without rate or increase"},
		{`histogram_quantile(0.99, rate(clicktrail_collector_publish_seconds[5m]))`, "is a histogram"},
		{`sum by (reason) (rate(clicktrail_collector_events_accepted_total[5m]))`, "grouped by reason"},
		{`rate(clicktrail_archiver_rows_total{tabel="events"}[5m])`, "has no label tabel"},
		{`sum(rate(clicktrail_collector_requests_total[5m]`, "unclosed"},
	} {
		_, bad := checkPromQL(tt.expr, metrics)
		if !slices.ContainsFunc(bad, func(s string) bool { return strings.Contains(s, tt.want) }) {
			t.Errorf("%s: got %q, want a problem with %q", tt.expr, bad, tt.want)
		}
	}
}

// promConfig mirrors the parts of Prometheus's configuration file that the scrape
// configurations use; decoding is strict. (prometheus/config itself pulls in every
// service discovery's SDK, so it is not used here.)
type promConfig struct {
	Global struct {
		ScrapeInterval     model.Duration `yaml:"scrape_interval"`
		ScrapeTimeout      model.Duration `yaml:"scrape_timeout"`
		EvaluationInterval model.Duration `yaml:"evaluation_interval"`
	} `yaml:"global"`
	ScrapeConfigs []promScrape `yaml:"scrape_configs"`
}

type promScrape struct {
	JobName       string `yaml:"job_name"`
	MetricsPath   string `yaml:"metrics_path"`
	StaticConfigs []struct {
		Targets []string          `yaml:"targets"`
		Labels  map[string]string `yaml:"labels"`
	} `yaml:"static_configs"`
	KubernetesSDConfigs []struct {
		Role       string `yaml:"role"`
		Namespaces struct {
			Names []string `yaml:"names"`
		} `yaml:"namespaces"`
	} `yaml:"kubernetes_sd_configs"`
	RelabelConfigs []struct {
		SourceLabels []string `yaml:"source_labels"`
		Action       string   `yaml:"action"`
		Regex        string   `yaml:"regex"`
		Replacement  string   `yaml:"replacement"`
		TargetLabel  string   `yaml:"target_label"`
	} `yaml:"relabel_configs"`
}

var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

func loadPromConfig(t *testing.T, file string) promConfig {
	t.Helper()
	var c promConfig
	if err := decodeYAMLStrict(readFile(t, file), &c); err != nil {
		t.Fatalf("%s: %v", filepath.Base(file), err)
	}
	if c.Global.ScrapeTimeout > c.Global.ScrapeInterval || c.Global.ScrapeInterval == 0 {
		t.Errorf("%s: scrape_timeout %s, scrape_interval %s", filepath.Base(file), c.Global.ScrapeTimeout, c.Global.ScrapeInterval)
	}
	jobs := map[string]bool{}
	for _, sc := range c.ScrapeConfigs {
		if jobs[sc.JobName] {
			t.Errorf("%s: job %s twice", filepath.Base(file), sc.JobName)
		}
		jobs[sc.JobName] = true
		for _, rc := range sc.RelabelConfigs {
			if !slices.Contains([]string{"", "replace", "keep", "drop", "labelmap", "labeldrop", "labelkeep", "hashmod", "lowercase", "uppercase", "keepequal", "dropequal"}, rc.Action) {
				t.Errorf("%s: job %s: relabel action %q", filepath.Base(file), sc.JobName, rc.Action)
			}
			if _, err := regexp.Compile("^(?s:" + rc.Regex + ")$"); err != nil {
				t.Errorf("%s: job %s: regex %q: %v", filepath.Base(file), sc.JobName, rc.Regex, err)
			}
			for _, l := range append(slices.Clone(rc.SourceLabels), rc.TargetLabel) {
				if l != "" && !labelName.MatchString(l) {
					t.Errorf("%s: job %s: label name %q", filepath.Base(file), sc.JobName, l)
				}
			}
		}
	}
	if !jobs["clicktrail"] {
		t.Errorf("%s: no job clicktrail (the dashboard reads up{job=\"clicktrail\"})", filepath.Base(file))
	}
	return c
}

// TestPrometheusComposeScrapesEveryService checks that the static targets are the
// Compose services on the ports they listen on.
func TestPrometheusComposeScrapesEveryService(t *testing.T) {
	root := testenv.Root(t)
	c := loadPromConfig(t, filepath.Join(root, "deploy", "observability", "prometheus.yml"))
	p := loadCompose(t, root)
	df := parseDockerfile(t, filepath.Join(root, "deploy", "Dockerfile"))
	scraped := map[string]bool{}
	for _, sc := range c.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			for _, target := range st.Targets {
				host, port, err := net.SplitHostPort(target)
				if err != nil {
					t.Errorf("job %s: target %q: %v", sc.JobName, target, err)
					continue
				}
				s, ok := p.Services[host]
				if !ok {
					t.Errorf("job %s: target %s is no Compose service", sc.JobName, target)
					continue
				}
				scraped[host] = true
				if host == "pulsar" {
					continue
				}
				env := df.env(host)
				for k, v := range s.Environment {
					if v != nil {
						env[k] = *v
					}
				}
				addr := env["CLICKTRAIL_"+strings.ToUpper(host)+"_ADDR"]
				if addr == "" || strconv.Itoa(portOf(t, addr)) != port {
					t.Errorf("job %s: target %s, but %s listens on %q", sc.JobName, target, host, addr)
				}
			}
		}
	}
	for _, want := range []string{"collector", "processor", "archiver", "demo", "pulsar"} {
		if !scraped[want] {
			t.Errorf("prometheus.yml does not scrape %s", want)
		}
	}
}

// TestPrometheusKubernetesKeepsThePods runs the keep and drop rules of the pod
// discovery over the labels and annotations of the production Deployments' pods: each
// must be kept.
func TestPrometheusKubernetesKeepsThePods(t *testing.T) {
	root := testenv.Root(t)
	c := loadPromConfig(t, filepath.Join(root, "deploy", "observability", "prometheus-kubernetes.yml"))
	i := slices.IndexFunc(c.ScrapeConfigs, func(sc promScrape) bool { return sc.JobName == "clicktrail" })
	if i < 0 {
		t.Fatal("no job clicktrail")
	}
	job := c.ScrapeConfigs[i]
	m := kustomizeBuild(t, productionFS(t, root), "/k8s/overlays/production")
	sanitize := strings.NewReplacer(".", "_", "/", "_", "-", "_")
	for _, d := range m.deployments {
		if len(job.KubernetesSDConfigs) != 1 || !slices.Contains(job.KubernetesSDConfigs[0].Namespaces.Names, d.Namespace) || job.KubernetesSDConfigs[0].Role != "pod" {
			t.Errorf("job clicktrail does not discover the pods of namespace %s", d.Namespace)
		}
		meta := map[string]string{"__meta_kubernetes_namespace": d.Namespace}
		for k, v := range d.Spec.Template.Labels {
			meta["__meta_kubernetes_pod_label_"+sanitize.Replace(k)] = v
		}
		for k, v := range d.Spec.Template.Annotations {
			meta["__meta_kubernetes_pod_annotation_"+sanitize.Replace(k)] = v
		}
		for _, rc := range job.RelabelConfigs {
			if rc.Action != "keep" && rc.Action != "drop" {
				continue
			}
			var vals []string
			for _, l := range rc.SourceLabels {
				vals = append(vals, meta[l])
			}
			matched := regexp.MustCompile("^(?s:" + rc.Regex + ")$").MatchString(strings.Join(vals, ";"))
			if matched != (rc.Action == "keep") {
				t.Errorf("Deployment %s: its pods are dropped by the rule %s %v =~ %q", d.Name, rc.Action, rc.SourceLabels, rc.Regex)
			}
		}
	}
}
