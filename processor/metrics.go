package processor

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	events         *prometheus.CounterVec // by tenant and outcome
	badEvents      prometheus.Counter     // undecodable messages on the events topic
	openSessions   *prometheus.GaugeVec   // by namespace
	sessionsClosed *prometheus.CounterVec // by reason
	lag            *prometheus.GaugeVec   // by namespace
	checkpoint     prometheus.Histogram   // seconds
	stateRecords   *prometheus.CounterVec // written, read
	staleRecords   prometheus.Counter
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
			Help: "State records written by this instance and read from the session-state topic.",
		}, []string{"direction"}),
		staleRecords: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "clicktrail_processor_stale_state_records_total",
			Help: "State records behind the position already held, ignored (a crashed owner's late write).",
		}),
	}
	reg.MustRegister(m.events, m.badEvents, m.openSessions, m.sessionsClosed, m.lag, m.checkpoint, m.stateRecords, m.staleRecords)
	return m
}
