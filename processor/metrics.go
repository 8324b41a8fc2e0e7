package processor

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/clicktrail/clicktrail/processor/protocol"
)

type metrics struct {
	events         *prometheus.CounterVec // by tenant and outcome
	badEvents      prometheus.Counter     // undecodable messages on the events topic
	openSessions   *prometheus.GaugeVec   // by namespace
	sessionsClosed *prometheus.CounterVec // by reason
	lag            *prometheus.GaugeVec   // by namespace
	checkpoint     prometheus.Histogram   // seconds
	acked          prometheus.Counter
	commits        *prometheus.CounterVec // written, read, overtaken, repeated, marker
	stateRecords   *prometheus.CounterVec // written, read
	aggregates     *prometheus.CounterVec // published, recovered, merged, repeated
	commitBytes    prometheus.Histogram   // encoded size of the commits written
	skipped        *prometheus.CounterVec // by topic and reason
	valuesCapped   prometheus.Counter
	refused        prometheus.Counter
	minutesDropped prometheus.Counter
	storeBuckets   prometheus.Gauge
	snapshots      *prometheus.CounterVec // by result
	shards         *prometheus.GaugeVec   // by namespace
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clicktrail_processor_events_total",
			Help: "Events processed, by tenant and outcome (counted, started, duplicate, late, replayed, outside: beyond the retention window, invalid: a user key no collector writes).",
		}, []string{"tenant", "outcome"}),
		badEvents: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "clicktrail_processor_undecodable_events_total",
			Help: "Messages on the events topic that were not an event; acknowledged and dropped.",
		}),
		openSessions: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "clicktrail_processor_open_sessions",
			Help: "Open sessions held, by namespace (all instances' sessions: every instance holds the table).",
		}, []string{"namespace"}),
		sessionsClosed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clicktrail_processor_sessions_closed_total",
			Help: "Sessions this instance closed and published, by end reason.",
		}, []string{"reason"}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "clicktrail_processor_consumer_lag_seconds",
			Help: "Age (publish time to processing) of the last event processed, by namespace.",
		}, []string{"namespace"}),
		checkpoint: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "clicktrail_processor_checkpoint_seconds",
			Help:    "Time to publish closed sessions and state records, flush them and acknowledge the events.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		stateRecords: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clicktrail_processor_state_records_total",
			Help: "State records (one per user key and commit) written by this instance and read from the session-state topic.",
		}, []string{"direction"}),
		acked: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "clicktrail_processor_events_acknowledged_total",
			Help: "Events acknowledged: their commit counted and its aggregate was published.",
		}),
		commits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clicktrail_processor_commits_total",
			Help: "Commits (messages of the session-state topic) written by this instance, read, read as overtaken (not counted: their writer started from an outdated state), read again (a second copy of this instance's own, skipped); markers written before taking over keys.",
		}, []string{"direction"}),
		aggregates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clicktrail_processor_aggregates_total",
			Help: "Aggregate messages published (for this instance's commits and for others it recovered), aggregates of other writers' commits recovered (their writer died before publishing them), messages read and merged, and read as repeats (ignored).",
		}, []string{"outcome"}),
	}
	m.commitBytes = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "clicktrail_processor_commit_bytes",
		Help:    "Encoded size of the commits this instance wrote (at most 1 MiB each).",
		Buckets: prometheus.ExponentialBuckets(256, 4, 8),
	})
	m.skipped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "clicktrail_processor_skipped_messages_total",
		Help: "Messages of the session-state or aggregates topic skipped, never retried: undecodable, or an aggregate that cannot be encoded; by topic and reason.",
	}, []string{"topic", "reason"})
	m.valuesCapped = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "clicktrail_processor_values_capped_total",
		Help: "Aggregate dimension values cut to 200 bytes and session texts cut to 2 KiB (or repaired to valid UTF-8).",
	})
	m.refused = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "clicktrail_processor_contributions_refused_total",
		Help: "Events left out of the aggregates because their key's record could not fit a commit (expected 0).",
	})
	m.minutesDropped = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "clicktrail_processor_store_minutes_dropped_total",
		Help: "Partial minutes read from the aggregates topic and not kept: outside the retention window of the processing clock, or not starting on a minute.",
	})
	m.storeBuckets = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "clicktrail_processor_store_buckets",
		Help: "Buckets (a tenant's minute, hour or day) held by the dashboard's store (all namespaces).",
	})
	m.snapshots = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "clicktrail_processor_snapshots_total",
		Help: "Snapshots of the store, by result: written, failed (not written), loaded (at start), none (no snapshot yet), unreadable (read from the beginning instead).",
	}, []string{"result"})
	m.shards = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "clicktrail_processor_state_shards",
		Help: "Shards of the session state this instance holds, by namespace (of 16).",
	}, []string{"namespace"})
	reg.MustRegister(m.snapshots, m.shards, m.events, m.badEvents, m.openSessions, m.sessionsClosed, m.lag, m.checkpoint, m.acked, m.commits, m.stateRecords, m.aggregates,
		m.commitBytes, m.skipped, m.valuesCapped, m.refused, m.minutesDropped, m.storeBuckets)
	return m
}

// protocol returns the metrics the protocol's Machine of namespace ns counts.
func (m *metrics) protocol(ns string) protocol.Metrics {
	return protocol.Metrics{
		Commits: m.commits, StateRecords: m.stateRecords, Skipped: m.skipped, Snapshots: m.snapshots,
		SessionsClosed: m.sessionsClosed, Aggregates: m.aggregates, Checkpoint: m.checkpoint, CommitBytes: m.commitBytes,
		Acked: m.acked, ValuesCapped: m.valuesCapped, Refused: m.refused,
		OpenSessions: m.openSessions.WithLabelValues(ns), Shards: m.shards.WithLabelValues(ns),
	}
}
