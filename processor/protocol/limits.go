package protocol

import "github.com/clicktrail/clicktrail/schemas"

// Bounds on what a client's text can cost. Whatever the events hold, a value of an
// aggregate dimension, a session's text and a user key have a bounded size, so a
// commit (see Checkpoint) and the store (see Store) have a bounded size too.
const (
	// MaxValueBytes caps a value of an aggregate dimension (page path, event name,
	// referrer host, utm_source, browser, device type), cut on a UTF-8 boundary.
	MaxValueBytes = 200
	// MaxDistinctValues is how many distinct values one dimension of one tenant-minute
	// keeps; the others are counted under otherValue (see Minute.Count).
	MaxDistinctValues = 1000
	// otherValue counts the values of a dimension beyond MaxDistinctValues.
	otherValue = "(other)"
	// MaxSessionValueBytes caps each text field of a session (entry and exit page,
	// referrer, campaign, user and anonymous ids, source, browser, os, device type):
	// the session travels in every commit of its key.
	MaxSessionValueBytes = 2048
	// maxKeyBytes bounds a user key: the collector accepts ids of at most 512
	// characters (schemas.MaxIDLength), 2048 bytes at most. An event with a longer
	// key was not written by a collector; it is ignored (outcome Invalid).
	maxKeyBytes = 4 * 512
)

// capValue returns s as valid UTF-8 (each invalid byte replaced by U+FFFD, see
// schemas.TruncateUTF8) of at most limit bytes, cut on a character boundary, and
// whether it changed s. It is a pure function of s: every instance makes the same
// value of the same input.
func capValue(s string, limit int) (string, bool) {
	out, repaired := schemas.TruncateUTF8(s, limit)
	return out, repaired || len(out) != len(s)
}
