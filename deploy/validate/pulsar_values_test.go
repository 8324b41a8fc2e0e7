package validate

import (
	"bufio"
	"bytes"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/clicktrail/clicktrail/internal/provision"
	"github.com/clicktrail/clicktrail/internal/testenv"
)

// pulsarValues mirrors the keys of the official Pulsar Helm chart's values that
// deploy/k8s/pulsar-values.yaml sets; decoding is strict, so a misspelt key fails.
type pulsarValues struct {
	ClusterName                  string          `json:"clusterName"`
	DefaultPulsarImageRepository string          `json:"defaultPulsarImageRepository"`
	DefaultPulsarImageTag        string          `json:"defaultPulsarImageTag"`
	Components                   map[string]bool `json:"components"`
	KubePrometheusStack          struct {
		Enabled bool `json:"enabled"`
	} `json:"kube-prometheus-stack"`
	Zookeeper    pulsarComponent `json:"zookeeper"`
	Bookkeeper   pulsarComponent `json:"bookkeeper"`
	Broker       pulsarComponent `json:"broker"`
	Proxy        pulsarComponent `json:"proxy"`
	Autorecovery pulsarComponent `json:"autorecovery"`
	Toolset      pulsarComponent `json:"toolset"`
}

type pulsarComponent struct {
	ReplicaCount int                          `json:"replicaCount"`
	Resources    *corev1.ResourceRequirements `json:"resources,omitempty"`
	ConfigData   map[string]string            `json:"configData,omitempty"`
	PodMonitor   *struct {
		Enabled bool `json:"enabled"`
	} `json:"podMonitor,omitempty"`
	Service *struct {
		Type string `json:"type"`
	} `json:"service,omitempty"`
	Volumes *struct {
		Journal *struct {
			Size string `json:"size"`
		} `json:"journal,omitempty"`
		Ledgers *struct {
			Size string `json:"size"`
		} `json:"ledgers,omitempty"`
	} `json:"volumes,omitempty"`
}

// brokerSettings are the broker settings the pipeline depends on, the same in every
// place a broker is configured: deploy/local, the Compose file, the Helm values.
var brokerSettings = map[string]string{
	// The archiver acknowledges inside batches.
	"acknowledgmentAtBatchIndexLevelEnabled": "true",
	// Topics and subscriptions stay while idle.
	"brokerDeleteInactiveTopicsEnabled": "false",
	// Key_Shared hands out contiguous hash ranges, which the processor's state shards
	// follow.
	"subscriptionKeySharedUseConsistentHashing": "false",
}

func TestPulsarHelmValues(t *testing.T) {
	root := testenv.Root(t)
	var v pulsarValues
	if err := yaml.UnmarshalStrict(readFile(t, filepath.Join(root, "deploy", "k8s", "pulsar-values.yaml")), &v); err != nil {
		t.Fatalf("pulsar-values.yaml: %v", err)
	}
	if want := localPulsarVersion(t, root); v.DefaultPulsarImageRepository != "apachepulsar/pulsar" || v.DefaultPulsarImageTag != want {
		t.Errorf("image %s:%s, want apachepulsar/pulsar:%s as deploy/local", v.DefaultPulsarImageRepository, v.DefaultPulsarImageTag, want)
	}
	if want := (provision.Config{}).WithDefaults().Cluster; v.ClusterName != want {
		t.Errorf("clusterName %q: provisioning creates tenants on cluster %q", v.ClusterName, want)
	}
	chart := []string{"zookeeper", "bookkeeper", "autorecovery", "broker", "functions", "proxy", "toolset", "pulsar_manager"}
	for c := range v.Components {
		if !slices.Contains(chart, c) {
			t.Errorf("components.%s is not a component of the chart", c)
		}
	}
	for _, c := range []string{"zookeeper", "bookkeeper", "broker"} {
		if !v.Components[c] {
			t.Errorf("components.%s is off", c)
		}
	}
	if v.Components["functions"] {
		t.Error("the functions worker is on; nothing uses it")
	}
	for k, want := range brokerSettings {
		if got := v.Broker.ConfigData[k]; got != want {
			t.Errorf("broker.configData.%s = %q, want %q", k, got, want)
		}
	}
	if got := v.Broker.ConfigData["allowAutoTopicCreation"]; got != "false" {
		t.Errorf("broker.configData.allowAutoTopicCreation = %q: a service started before provisioning would create events unpartitioned", got)
	}
	atoi := func(k string) int {
		n, err := strconv.Atoi(v.Broker.ConfigData[k])
		if err != nil {
			t.Errorf("broker.configData.%s: %v", k, err)
		}
		return n
	}
	e, qw, qa := atoi("managedLedgerDefaultEnsembleSize"), atoi("managedLedgerDefaultWriteQuorum"), atoi("managedLedgerDefaultAckQuorum")
	if qa < 2 || qa > qw || qw > e || e >= v.Bookkeeper.ReplicaCount {
		t.Errorf("ensemble %d, write quorum %d, ack quorum %d with %d bookies: want 2 <= ack <= write <= ensemble < bookies (acknowledged on two, writable with one bookie down)", e, qw, qa, v.Bookkeeper.ReplicaCount)
	}
	if v.Proxy.Service == nil || v.Proxy.Service.Type != "ClusterIP" {
		t.Error("the proxy's Service is not ClusterIP: the chart's default LoadBalancer exposes the brokers")
	}
	if v.Broker.ReplicaCount < 2 || v.Zookeeper.ReplicaCount < 3 {
		t.Errorf("%d brokers and %d ZooKeeper nodes: want at least 2 and 3", v.Broker.ReplicaCount, v.Zookeeper.ReplicaCount)
	}
}

// TestBrokerSettingsAgree checks the settings of brokerSettings in the development
// broker's configuration and in the Compose file's broker.
func TestBrokerSettingsAgree(t *testing.T) {
	root := testenv.Root(t)
	conf := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(readFile(t, filepath.Join(root, "deploy", "local", "pulsar", "standalone.conf"))))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			conf[k] = v
		}
	}
	env := loadCompose(t, root).Services["pulsar"].Environment
	for k, want := range brokerSettings {
		if conf[k] != want {
			t.Errorf("deploy/local/pulsar/standalone.conf: %s=%q, want %q", k, conf[k], want)
		}
		if got := env["PULSAR_PREFIX_"+k]; got == nil || *got != want {
			t.Errorf("compose.yaml: pulsar's PULSAR_PREFIX_%s is %v, want %q", k, got, want)
		}
	}
}
