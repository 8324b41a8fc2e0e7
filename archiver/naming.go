package archiver

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
)

// objectKey names a file: <prefix><table>/tenant=T/dt=YYYY-MM-DD/hour=HH/<topic>-<partition>-<first message id>.parquet.
// The name derives from the message the file starts at, so a replay after a crash
// (which starts at the same unacknowledged message) overwrites the same object.
func objectKey(prefix, table, tenant string, hour time.Time, topic string, first pulsar.MessageID) string {
	name, partition := splitPartition(topic)
	hour = hour.UTC()
	return fmt.Sprintf("%s%s/tenant=%s/dt=%s/hour=%02d/%s-%d-%d-%d-%d.parquet",
		prefix, table, tenant, hour.Format("2006-01-02"), hour.Hour(), name, partition,
		first.LedgerID(), first.EntryID(), max(first.BatchIdx(), 0))
}

// splitPartition turns persistent://t/ns/events-partition-3 into ("events", 3); a
// topic without partitions is partition 0.
func splitPartition(topic string) (string, int) {
	name := topic[strings.LastIndexByte(topic, '/')+1:]
	if i := strings.LastIndex(name, "-partition-"); i >= 0 {
		if n, err := strconv.Atoi(name[i+len("-partition-"):]); err == nil {
			return name[:i], n
		}
	}
	return name, 0
}
