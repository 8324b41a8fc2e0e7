package validate

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/krusty"
	kusttypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/clicktrail/clicktrail/internal/testenv"
)

// scaledObject mirrors the fields of KEDA's ScaledObject (keda.sh/v1alpha1) that the
// manifests use; decoding is strict, so any other field is an error here.
type scaledObject struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   metav1.ObjectMeta `json:"metadata"`
	Spec       struct {
		ScaleTargetRef struct {
			APIVersion string `json:"apiVersion,omitempty"`
			Kind       string `json:"kind,omitempty"`
			Name       string `json:"name"`
		} `json:"scaleTargetRef"`
		PollingInterval *int32 `json:"pollingInterval,omitempty"`
		CooldownPeriod  *int32 `json:"cooldownPeriod,omitempty"`
		MinReplicaCount *int32 `json:"minReplicaCount,omitempty"`
		MaxReplicaCount *int32 `json:"maxReplicaCount,omitempty"`
		Advanced        *struct {
			HorizontalPodAutoscalerConfig *struct {
				Behavior *autoscalingv2.HorizontalPodAutoscalerBehavior `json:"behavior,omitempty"`
			} `json:"horizontalPodAutoscalerConfig,omitempty"`
		} `json:"advanced,omitempty"`
		Triggers []struct {
			Type     string            `json:"type"`
			Name     string            `json:"name,omitempty"`
			Metadata map[string]string `json:"metadata"`
		} `json:"triggers"`
	} `json:"spec"`
}

// serviceMonitor mirrors the fields of the Prometheus Operator's ServiceMonitor
// (monitoring.coreos.com/v1) that the manifests use.
type serviceMonitor struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   metav1.ObjectMeta `json:"metadata"`
	Spec       struct {
		JobLabel  string               `json:"jobLabel,omitempty"`
		Selector  metav1.LabelSelector `json:"selector"`
		Endpoints []struct {
			Port          string `json:"port"`
			Path          string `json:"path,omitempty"`
			Interval      string `json:"interval,omitempty"`
			ScrapeTimeout string `json:"scrapeTimeout,omitempty"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// manifests are the decoded objects of one kustomize build (or one file).
type manifests struct {
	deployments []*appsv1.Deployment
	services    []*corev1.Service
	configMaps  []*corev1.ConfigMap
	secrets     []*corev1.Secret
	namespaces  []*corev1.Namespace
	jobs        []*batchv1.Job
	pdbs        []*policyv1.PodDisruptionBudget
	hpas        []*autoscalingv2.HorizontalPodAutoscaler
	scaled      []*scaledObject
	monitors    []*serviceMonitor
}

// decode decodes one manifest strictly (unknown or duplicate fields are errors) into
// the Go type of its apiVersion and kind; an apiVersion or kind not listed here is an
// error too, so nothing goes unchecked.
func (m *manifests) decode(doc []byte) error {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return err
	}
	strict := func(v any) error { return yaml.UnmarshalStrict(doc, v) }
	var err error
	switch tm.APIVersion + " " + tm.Kind {
	case "apps/v1 Deployment":
		var o appsv1.Deployment
		err = strict(&o)
		m.deployments = append(m.deployments, &o)
	case "v1 Service":
		var o corev1.Service
		err = strict(&o)
		m.services = append(m.services, &o)
	case "v1 ConfigMap":
		var o corev1.ConfigMap
		err = strict(&o)
		m.configMaps = append(m.configMaps, &o)
	case "v1 Secret":
		var o corev1.Secret
		err = strict(&o)
		m.secrets = append(m.secrets, &o)
	case "v1 Namespace":
		var o corev1.Namespace
		err = strict(&o)
		m.namespaces = append(m.namespaces, &o)
	case "batch/v1 Job":
		var o batchv1.Job
		err = strict(&o)
		m.jobs = append(m.jobs, &o)
	case "policy/v1 PodDisruptionBudget":
		var o policyv1.PodDisruptionBudget
		err = strict(&o)
		m.pdbs = append(m.pdbs, &o)
	case "autoscaling/v2 HorizontalPodAutoscaler":
		var o autoscalingv2.HorizontalPodAutoscaler
		err = strict(&o)
		m.hpas = append(m.hpas, &o)
	case "keda.sh/v1alpha1 ScaledObject":
		var o scaledObject
		err = strict(&o)
		m.scaled = append(m.scaled, &o)
	case "monitoring.coreos.com/v1 ServiceMonitor":
		var o serviceMonitor
		err = strict(&o)
		m.monitors = append(m.monitors, &o)
	default:
		return fmt.Errorf("unexpected apiVersion %q kind %q", tm.APIVersion, tm.Kind)
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", tm.Kind, nameOf(doc), err)
	}
	return nil
}

func nameOf(doc []byte) string {
	var o struct {
		Metadata struct{ Name string } `json:"metadata"`
	}
	_ = yaml.Unmarshal(doc, &o)
	return o.Metadata.Name
}

// splitYAML returns the documents of a multi-document YAML file.
func splitYAML(b []byte) ([][]byte, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(doc)) > 0 {
			docs = append(docs, doc)
		}
	}
}

// kustomizeBuild builds dir of fsys with krusty (kustomize's library), as
// `kubectl apply -k` does, and decodes every resulting object.
func kustomizeBuild(t *testing.T, fsys filesys.FileSystem, dir string) *manifests {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(fsys, dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	m := &manifests{}
	for _, r := range rm.Resources() {
		doc, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		if err := m.decode(doc); err != nil {
			t.Errorf("kustomize build %s: %v", dir, err)
		}
	}
	return m
}

// productionFS copies deploy/k8s into memory, filling in each git-ignored secret file
// of the production overlay that does not exist from its .example, as an operator
// would before the first build.
func productionFS(t *testing.T, root string) filesys.FileSystem {
	t.Helper()
	mem := filesys.MakeFsInMemory()
	src := filepath.Join(root, "deploy", "k8s")
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		dst := filepath.ToSlash(filepath.Join("/k8s", rel))
		if err := mem.WriteFile(dst, b); err != nil {
			return err
		}
		if real, ok := strings.CutSuffix(path, ".example"); ok {
			if _, err := os.Stat(real); errors.Is(err, fs.ErrNotExist) {
				return mem.WriteFile(strings.TrimSuffix(dst, ".example"), b)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return mem
}

// TestEveryManifestFileDecodesStrictly decodes each YAML file of deploy/k8s on its own
// (the base's objects, the overlay's patches, the kustomizations), strictly.
func TestEveryManifestFileDecodesStrictly(t *testing.T) {
	root := testenv.Root(t)
	dir := filepath.Join(root, "deploy", "k8s")
	n := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		switch base := filepath.Base(path); {
		case base == "pulsar-values.yaml": // Helm values: TestPulsarHelmValues
			return nil
		case base == "sources.yaml" || strings.Contains(rel, string(filepath.Separator)+"secrets"+string(filepath.Separator)):
			return nil // sources files: loaded by the services' own loaders below
		case base == "kustomization.yaml":
			var k kusttypes.Kustomization
			if err := yaml.UnmarshalStrict(readFile(t, path), &k); err != nil {
				t.Errorf("%s: %v", rel, err)
			}
			n++
			return nil
		}
		docs, err := splitYAML(readFile(t, path))
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return nil
		}
		for _, doc := range docs {
			if err := (&manifests{}).decode(doc); err != nil {
				t.Errorf("%s: %v", rel, err)
			}
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Errorf("decoded only %d documents under deploy/k8s", n)
	}
}
