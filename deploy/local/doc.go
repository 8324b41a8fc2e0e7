// Package local holds the tests of the deploy/local scripts, which start a real
// Pulsar standalone broker, a real Pulsar cluster (cluster.sh: ZooKeeper, three
// bookies, two brokers) and a real S3 server (versitygw, or MinIO) on this machine
// without Docker.
package local
