package chaos

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// LaterCopies returns the messageIds the events topic holds more than once whose row
// in the lake is not the first copy (by its timestamp, which each copy has its own
// of): both consumers keep the first copy they read and drop the rest, so a later
// copy in the lake means the row of the first one was lost.
func LaterCopies(times map[string]time.Time, tap *Tap) []string {
	var out []string
	for id, t := range times {
		copies := tap.Positions(id)
		if len(copies) < 2 {
			continue
		}
		if !t.Equal(copies[0].Timestamp.Truncate(time.Millisecond)) {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// Explain describes, for a messageId the lake lacks or holds twice, where the events
// topic holds it and which stored files of its partition start around it, so a
// report can say what the archiver did.
func Explain(id string, tap *Tap, lake *Lake) string {
	var b strings.Builder
	positions := tap.Positions(id)
	fmt.Fprintf(&b, "%s: %d copies in the events topic", id, len(positions))
	for _, p := range positions {
		fmt.Fprintf(&b, "\n  at %s", p)
	}
	if len(positions) == 0 {
		return b.String()
	}
	p := positions[0]
	files := lake.FilesOf(p.Partition)
	at := -1
	for i, f := range files {
		if s, _ := startOf(f.Key); !p.before(s) {
			at = i
		}
	}
	for i := max(0, at-1); i < min(len(files), at+2); i++ {
		f := files[i]
		holds := 0
		for _, x := range f.IDs {
			if x == id {
				holds++
			}
		}
		first, last := "", ""
		if len(f.IDs) > 0 {
			first, last = f.IDs[0], f.IDs[len(f.IDs)-1]
		}
		fmt.Fprintf(&b, "\n  file %s: %d rows, %s .. %s, holds it %d times", f.Key[strings.LastIndexByte(f.Key, '/')+1:], len(f.IDs), first, last, holds)
		if len(f.IDs) > 0 {
			if fp := tap.Positions(first); len(fp) > 0 {
				fmt.Fprintf(&b, " (first row at %d:%d:%d)", fp[0].Ledger, fp[0].Entry, max(fp[0].Batch, 0))
			}
		}
	}
	return b.String()
}
