package flagenv

// The settings more than one service has, each registered here once.

// Log is every service's logging.
type Log struct {
	// LogLevel is debug, info, warn or error; LogFormat json or text [info, json].
	LogLevel, LogFormat string
}

// DefaultLog returns info and json.
func DefaultLog() Log { return Log{LogLevel: "info", LogFormat: "json"} }

// Log registers --log.level and --log.format.
func (s *Set) Log(l *Log) {
	s.String(&l.LogLevel, "log.level", "log level: debug, info, warn, error")
	s.String(&l.LogFormat, "log.format", "log format: json or text")
}

// PulsarURL registers --pulsar.url.
func (s *Set) PulsarURL(p *string) { s.String(p, "pulsar.url", "Pulsar service URL") }

// Sources registers --sources, the sources file; usage says what the service reads
// from it.
func (s *Set) Sources(p *string, usage string) { s.String(p, "sources", usage) }

// S3 is the S3-compatible object store holding the archive.
type S3 struct {
	// S3Endpoint is its host:port, S3AccessKey and S3SecretKey its credentials, and
	// Bucket the bucket; S3UseTLS speaks HTTPS to it.
	S3Endpoint, S3AccessKey, S3SecretKey, Bucket string
	S3UseTLS                                     bool
}

// S3 registers --s3.endpoint, --s3.access-key, --s3.secret-key, --s3.tls and
// --s3.bucket.
func (s *Set) S3(o *S3) {
	s.String(&o.S3Endpoint, "s3.endpoint", "object store host:port")
	s.String(&o.S3AccessKey, "s3.access-key", "object store access key")
	s.String(&o.S3SecretKey, "s3.secret-key", "object store secret key")
	s.Bool(&o.S3UseTLS, "s3.tls", "use HTTPS to the object store")
	s.String(&o.Bucket, "s3.bucket", "archive bucket")
}
