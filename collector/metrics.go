package collector

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	requests       *prometheus.CounterVec
	eventsAccepted *prometheus.CounterVec
	eventsRejected *prometheus.CounterVec
	publishSeconds prometheus.Histogram
	requestSeconds prometheus.Histogram
	pending        prometheus.Gauge
	inFlight       prometheus.Gauge
	reading        prometheus.Gauge
	bytesIn        prometheus.Counter
	utf8Repaired   *prometheus.CounterVec
	headersCapped  *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clicktrail_collector_requests_total", Help: "HTTP requests by endpoint and status code.",
		}, []string{"endpoint", "code"}),
		eventsAccepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clicktrail_collector_events_accepted_total", Help: "Events acknowledged by Pulsar, by tenant.",
		}, []string{"tenant"}),
		eventsRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clicktrail_collector_events_rejected_total", Help: "Events rejected by validation (sent to events-invalid), by tenant and field.",
		}, []string{"tenant", "reason"}),
		publishSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "clicktrail_collector_publish_seconds", Help: "Time from handing a message to the producer to Pulsar's acknowledgement.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		requestSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "clicktrail_collector_request_seconds", Help: "Time to answer a request, acknowledgement included.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "clicktrail_collector_pending_messages", Help: "Messages handed to producers and not yet acknowledged (queue depth).",
		}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "clicktrail_collector_requests_in_flight", Help: "Requests being handled, their body received.",
		}),
		reading: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "clicktrail_collector_requests_reading", Help: "Requests whose body is still arriving; they hold no in-flight slot until it is whole.",
		}),
		bytesIn: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "clicktrail_collector_received_bytes_total", Help: "Request body bytes received, after decompression.",
		}),
		utf8Repaired: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clicktrail_collector_utf8_repaired_total",
			Help: "Values stored with invalid UTF-8 replaced by U+FFFD, by field group: fields (the envelope's strings), context, properties, traits, integrations, raw (a rejected event as sent), user_agent (the header).",
		}, []string{"field"}),
		headersCapped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clicktrail_collector_headers_capped_total",
			Help: "Request header values not kept as sent, by header: user_agent (cut to 512 bytes), x_request_id (replaced by a generated id), traceparent (dropped).",
		}, []string{"header"}),
	}
	reg.MustRegister(m.requests, m.eventsAccepted, m.eventsRejected, m.publishSeconds, m.requestSeconds, m.pending, m.inFlight, m.reading, m.bytesIn, m.utf8Repaired, m.headersCapped)
	return m
}
