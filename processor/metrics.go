package processor

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	events         *prometheus.CounterVec // by tenant and outcome
	badEvents      prometheus.Counter     // undecodable messages on the events topic
	openSessions   *prometheus.GaugeVec   // by namespace
	sessionsClosed *prometheus.CounterVec // by reason
	lag            *prometheus.GaugeVec   // by namespace
	checkpoint     prometheus.Histogram   // seconds
	acked          prometheus.Counter
	commits        *prometheus.CounterVec // written, read, overtaken, marker
	stateRecords   *prometheus.CounterVec // written, read
	aggregates     *prometheus.CounterVec // published, recovered, merged, repeated
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clicktrail_processor_events_total",
			Help: "Events processed, by tenant and outcome (counted, started, duplicate, late, replayed).",
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
			Help: "Commits (messages of the session-state topic) written by this instance, read, and read as overtaken (not counted: their writer started from an outdated state); markers written before taking over keys.",
		}, []string{"direction"}),
		aggregates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clicktrail_processor_aggregates_total",
			Help: "Aggregate messages published for this instance's commits, published for another writer's (recovered), read and merged, and read as repeats (ignored).",
		}, []string{"outcome"}),
	}
	reg.MustRegister(m.events, m.badEvents, m.openSessions, m.sessionsClosed, m.lag, m.checkpoint, m.acked, m.commits, m.stateRecords, m.aggregates)
	return m
}
