package protocol

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"github.com/pierrec/lz4/v4"
)

// The snapshot of a shard, LZ4-compressed:
//
//	snapshot = version(1) namespace shard pos(bytes) written(Unix ns) nrecords record*
//	record   = (commit record, see codec.go) writer cended(8 bytes) touched
const shardSnapshotVersion = 1

// encodeShardSnapshot returns the compressed snapshot. The records are compressed as
// they are encoded, a block at a time, so a shard of millions of keys never stands
// whole in memory uncompressed.
func encodeShardSnapshot(ns string, s int, pos []byte, written time.Time, recs []shardRecord) ([]byte, error) {
	var out bytes.Buffer
	zw := lz4.NewWriter(&out)
	b := []byte{shardSnapshotVersion}
	b = appendString(b, ns)
	b = binary.AppendUvarint(b, uint64(s))
	b = appendString(b, string(pos))
	b = binary.AppendVarint(b, written.UnixNano())
	b = binary.AppendUvarint(b, uint64(len(recs)))
	for i := range recs {
		r := &recs[i]
		b = appendRecord(b, &r.Record)
		b = appendString(b, r.Writer)
		b = binary.LittleEndian.AppendUint64(b, r.Cended)
		b = binary.AppendVarint(b, r.Touched)
		if len(b) >= 64<<10 {
			if _, err := zw.Write(b); err != nil {
				return nil, err
			}
			b = b[:0]
		}
	}
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func decodeShardSnapshot(r io.Reader, ns string, s int, intern func(string) string) ([]shardRecord, []byte, error) {
	data, err := io.ReadAll(bufio.NewReader(lz4.NewReader(r)))
	if err != nil {
		return nil, nil, fmt.Errorf("snapshot of shard %d: %w", s, err)
	}
	d := &decoder{b: data}
	if v := d.byte(); v != shardSnapshotVersion {
		return nil, nil, fmt.Errorf("snapshot of shard %d: version %d, want %d", s, v, shardSnapshotVersion)
	}
	if got, shard := d.string(), int(d.uvarint()); d.err == nil && (got != ns || shard != s) {
		return nil, nil, fmt.Errorf("snapshot of shard %d of %s holds shard %d of %s", s, ns, shard, got)
	}
	pos := []byte(d.string())
	d.varint() // written
	n := d.count()
	recs := make([]shardRecord, 0, n)
	for range n {
		var r shardRecord
		d.record(&r.Record, intern)
		r.Writer = intern(d.string())
		if c := d.bytes(8); c != nil {
			r.Cended = binary.LittleEndian.Uint64(c)
		}
		r.Touched = d.varint()
		if d.err != nil {
			break
		}
		recs = append(recs, r)
	}
	if d.err != nil {
		return nil, nil, fmt.Errorf("snapshot of shard %d: %w", s, d.err)
	}
	return recs, pos, nil
}
