package archiver

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	rows          *prometheus.CounterVec
	duplicates    *prometheus.CounterVec
	redelivered   *prometheus.CounterVec
	undecodable   *prometheus.CounterVec
	files         prometheus.Counter
	bytes         prometheus.Counter
	uploadSeconds prometheus.Histogram
	uploadErrors  prometheus.Counter
	lagSeconds    *prometheus.GaugeVec
	dedupIDs      *prometheus.GaugeVec
	utf8Repaired  *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clicktrail_archiver_rows_total", Help: "Rows written to Parquet files, by table.",
		}, []string{"table"}),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clicktrail_archiver_duplicates_total", Help: "Messages dropped as repeats of a messageId within the window, by table.",
		}, []string{"table"}),
		redelivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clicktrail_archiver_redelivered_total", Help: "Messages delivered again after the file holding them was stored (an acknowledgement the broker lost), skipped, by table.",
		}, []string{"table"}),
		undecodable: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clicktrail_archiver_undecodable_total", Help: "Messages that could not be decoded, stored in the invalid table, by table.",
		}, []string{"table"}),
		files: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "clicktrail_archiver_files_total", Help: "Parquet files stored in the object store.",
		}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "clicktrail_archiver_stored_bytes_total", Help: "Bytes of Parquet stored in the object store.",
		}),
		uploadSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "clicktrail_archiver_upload_seconds", Help: "Time to store one file.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}),
		uploadErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "clicktrail_archiver_upload_errors_total", Help: "Failed uploads (retried).",
		}),
		lagSeconds: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "clicktrail_archiver_lag_seconds", Help: "Age of the last message read, by topic: how far the archiver trails the producers.",
		}, []string{"topic"}),
		dedupIDs: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "clicktrail_archiver_dedup_ids", Help: "MessageIds remembered for de-duplication, by topic partition, when its last file was stored.",
		}, []string{"topic"}),
		utf8Repaired: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clicktrail_archiver_utf8_repaired_total", Help: "String values whose invalid UTF-8 bytes were replaced by U+FFFD before writing, by table and column.",
		}, []string{"table", "column"}),
	}
	reg.MustRegister(m.rows, m.duplicates, m.redelivered, m.undecodable, m.files, m.bytes, m.uploadSeconds, m.uploadErrors, m.lagSeconds, m.dedupIDs, m.utf8Repaired)
	return m
}
