package protocol

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/axiomhq/hyperloglog"

	"github.com/clicktrail/clicktrail/schemas"
)

// The binary form of a Commit on the session-state topic. Integers are varints,
// strings and byte strings are length-prefixed, times are Unix nanoseconds (UTC):
//
//	commit  = version(1) writer seq nrecords record* nminutes minute*
//	record  = key tenant flags [base] [pos] [open] nended ended*
//	pos     = partition ledger entry batch
//	open    = id source userId anonymousId started ended events pageviews entry exit
//	          referrer campaign(name source medium term content) browser os device
//	          nseen seen(8 bytes each)*
//	ended   = id minute durationMs bounce(1 byte)
//	minute  = tenant start(Unix seconds) events pageviews referrers utmSources browsers
//	          devices (each: n (string count)*) sessionsStarted sessionsEnded bounces
//	          durationMs sketch(bytes)
//
// A session id of 24 hexadecimal digits (SessionID's form) is written as its 12 bytes.
const commitVersion = 1

const (
	recEvents = 1 << iota
	recBase
	recPos
	recOpen
	// recAnon: the open session's anonymousId is the key (written once).
	recAnon
)

var errCorrupt = errors.New("corrupt commit")

// AppendCommit encodes c.
func AppendCommit(b []byte, c *Commit) ([]byte, error) {
	b = append(b, commitVersion)
	b = appendString(b, c.Writer)
	b = binary.AppendUvarint(b, c.Seq)
	b = binary.AppendUvarint(b, uint64(len(c.Records)))
	for i := range c.Records {
		b = appendRecord(b, &c.Records[i])
	}
	b = binary.AppendUvarint(b, uint64(len(c.Minutes)))
	for _, m := range c.Minutes {
		var err error
		if b, err = appendMinute(b, m); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func appendRecord(b []byte, r *Record) []byte {
	b = appendString(b, r.Key)
	b = appendString(b, r.Tenant)
	var flags byte
	if r.Events {
		flags |= recEvents
	}
	if r.Base != nil {
		flags |= recBase
	}
	if r.Pos != nil {
		flags |= recPos
	}
	if r.Open != nil {
		flags |= recOpen
		if r.Open.AnonymousID == r.Key {
			flags |= recAnon
		}
	}
	b = append(b, flags)
	if r.Base != nil {
		b = appendPos(b, r.Base)
	}
	if r.Pos != nil {
		b = appendPos(b, r.Pos)
	}
	if s := r.Open; s != nil {
		b = appendSessionID(b, s.SessionID)
		b = appendString(b, s.Source)
		b = appendString(b, s.UserID)
		if flags&recAnon == 0 {
			b = appendString(b, s.AnonymousID)
		}
		b = binary.AppendVarint(b, s.StartedAt.UnixNano())
		b = binary.AppendVarint(b, s.EndedAt.UnixNano())
		b = binary.AppendUvarint(b, uint64(s.EventCount))
		b = binary.AppendUvarint(b, uint64(s.PageviewCount))
		for _, v := range [...]string{s.EntryPage, s.ExitPage, s.Referrer,
			s.Campaign.Name, s.Campaign.Source, s.Campaign.Medium, s.Campaign.Term, s.Campaign.Content,
			s.Browser, s.OS, s.DeviceType} {
			b = appendString(b, v)
		}
		b = binary.AppendUvarint(b, uint64(len(s.Seen)))
		for _, h := range s.Seen {
			b = binary.LittleEndian.AppendUint64(b, h)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(r.Ended)))
	for _, e := range r.Ended {
		b = appendSessionID(b, e.ID)
		b = binary.AppendVarint(b, e.Minute)
		b = binary.AppendVarint(b, e.DurationMs)
		if e.Bounce {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	}
	return b
}

func appendPos(b []byte, p *Position) []byte {
	b = binary.AppendVarint(b, int64(p.Partition))
	b = binary.AppendVarint(b, p.Ledger)
	b = binary.AppendVarint(b, p.Entry)
	return binary.AppendVarint(b, int64(p.Batch))
}

func appendMinute(b []byte, m *Minute) ([]byte, error) {
	b = appendString(b, m.Tenant)
	b = binary.AppendVarint(b, m.Start.Unix())
	for _, mp := range [...]map[string]int64{m.Events, m.Pageviews, m.Referrers, m.UTMSources, m.Browsers, m.Devices} {
		b = binary.AppendUvarint(b, uint64(len(mp)))
		for k, v := range mp {
			b = appendString(b, k)
			b = binary.AppendVarint(b, v)
		}
	}
	for _, v := range [...]int64{m.SessionsStarted, m.SessionsEnded, m.Bounces, m.SessionDurationMs} {
		b = binary.AppendVarint(b, v)
	}
	sk, err := m.Visitors.Sketch.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("encode visitor sketch: %w", err)
	}
	b = binary.AppendUvarint(b, uint64(len(sk)))
	return append(b, sk...), nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendSessionID writes a 24-digit hexadecimal id as its 12 bytes (length 12 marks
// it), anything else as a string with its length plus 100.
func appendSessionID(b []byte, id string) []byte {
	if isHexID(id) {
		var raw [12]byte
		_, _ = hex.Decode(raw[:], []byte(id))
		b = append(b, 12)
		return append(b, raw[:]...)
	}
	b = binary.AppendUvarint(b, uint64(len(id))+100)
	return append(b, id...)
}

// isHexID reports whether id has SessionID's form: 24 lowercase hexadecimal digits.
func isHexID(id string) bool {
	if len(id) != 24 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Sizes of the encoding, so a checkpoint can be cut into commits of a bounded size
// before they are encoded (see Checkpoint). sizeRecord is exact; the bounds of the
// partial minutes are upper bounds of what each contribution can add, derived below.

// uvarintLen is the length of x as a uvarint; varintLen of x as a varint.
func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

func varintLen(x int64) int {
	ux := uint64(x) << 1
	if x < 0 {
		ux = ^ux
	}
	return uvarintLen(ux)
}

func sizeString(s string) int { return uvarintLen(uint64(len(s))) + len(s) }

func sizeSessionID(id string) int {
	if isHexID(id) {
		return 13
	}
	return uvarintLen(uint64(len(id))+100) + len(id)
}

func sizePos(p *Position) int {
	return varintLen(int64(p.Partition)) + varintLen(p.Ledger) + varintLen(p.Entry) + varintLen(int64(p.Batch))
}

// sizeRecord is len(appendRecord(nil, r)).
func sizeRecord(r *Record) int {
	n := sizeString(r.Key) + sizeString(r.Tenant) + 1
	if r.Base != nil {
		n += sizePos(r.Base)
	}
	if r.Pos != nil {
		n += sizePos(r.Pos)
	}
	if s := r.Open; s != nil {
		n += sizeSessionID(s.SessionID) + sizeString(s.Source) + sizeString(s.UserID)
		if s.AnonymousID != r.Key {
			n += sizeString(s.AnonymousID)
		}
		n += varintLen(s.StartedAt.UnixNano()) + varintLen(s.EndedAt.UnixNano()) +
			uvarintLen(uint64(s.EventCount)) + uvarintLen(uint64(s.PageviewCount))
		for _, v := range [...]string{s.EntryPage, s.ExitPage, s.Referrer,
			s.Campaign.Name, s.Campaign.Source, s.Campaign.Medium, s.Campaign.Term, s.Campaign.Content,
			s.Browser, s.OS, s.DeviceType} {
			n += sizeString(v)
		}
		n += uvarintLen(uint64(len(s.Seen))) + 8*len(s.Seen)
	}
	n += uvarintLen(uint64(len(r.Ended)))
	for i := range r.Ended {
		n += sizeEnd(&r.Ended[i])
	}
	return n
}

// sizeEnd is what a session end adds to its record.
func sizeEnd(e *sessionEnd) int {
	return sizeSessionID(e.ID) + varintLen(e.Minute) + varintLen(e.DurationMs) + 1
}

// A visitor sketch (hyperloglog, precision 14) encodes to at most sketchHeaderBytes
// plus sketchInsertBytes per insertion: sparse, 20 bytes of headers, 4 bytes per
// hash not merged yet and at most 5 (a varint of the difference) per merged hash;
// dense, 8 bytes and 16384 registers, which it becomes only once the merged hashes
// take more than 16384 bytes. TestAVisitorSketchEncodesWithinItsBound checks it.
const (
	sketchHeaderBytes = 20
	sketchInsertBytes = 5
)

// minuteBound bounds the encoding of a minute of tenant without its entries and its
// sketch's insertions: tenant, start, the six entry counts (at most 1001 entries
// each, 2 bytes), the four totals, the sketch's length and headers.
func minuteBound(tenant string) int {
	return sizeString(tenant) + binary.MaxVarintLen64 + NumDims*2 + 4*binary.MaxVarintLen64 + 3 + sketchHeaderBytes
}

// entryBound bounds what counting value v once adds to a minute's dimension: a new
// entry (the value, its count of 1), or the growth of an existing count, or the
// otherValue entry v may be counted under instead. Summed over the counts of an
// entry it covers its final count's varint (at most one byte per count).
func entryBound(v string) int {
	if v == "" {
		return 0
	}
	l := max(len(v), len(otherValue))
	return uvarintLen(uint64(l)) + l + 1
}

// contribBound bounds what contribution c adds to a commit's partial minute, besides
// the minute itself (minuteBound).
func contribBound(c *contrib) int {
	n := sketchInsertBytes + entryBound(c.event) + entryBound(c.page)
	if c.started {
		n += entryBound(c.referrer) + entryBound(c.utm) + entryBound(c.browser) + entryBound(c.dev)
	}
	return n
}

// DecodeCommit decodes what AppendCommit wrote; strings are interned with intern.
func DecodeCommit(data []byte, intern func(string) string) (*Commit, error) {
	d := &decoder{b: data}
	if d.byte() != commitVersion {
		return nil, fmt.Errorf("%w: unknown version", errCorrupt)
	}
	c := &Commit{Writer: intern(d.string())}
	c.Seq = d.uvarint()
	n := d.count()
	c.Records = make([]Record, n)
	for i := range c.Records {
		d.record(&c.Records[i], intern)
	}
	n = d.count()
	for range n {
		m := d.minute(intern)
		if d.err != nil {
			break
		}
		c.Minutes = append(c.Minutes, m)
	}
	if d.err == nil && len(d.b) > 0 {
		d.err = fmt.Errorf("%w: %d bytes after the end", errCorrupt, len(d.b))
	}
	if d.err != nil {
		return nil, d.err
	}
	return c, nil
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", errCorrupt, what)
	}
	d.b = nil
}

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.fail("truncated")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a length that must fit in what is left (each item takes a byte at least).
func (d *decoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("bad length")
		return 0
	}
	return int(n)
}

func (d *decoder) bytes(n int) []byte {
	if n < 0 || n > len(d.b) {
		d.fail("truncated")
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string { return string(d.bytes(d.count())) }

func (d *decoder) sessionID() string {
	n := d.uvarint()
	if n == 12 {
		return hex.EncodeToString(d.bytes(12))
	}
	if n < 100 {
		d.fail("bad session id")
		return ""
	}
	return string(d.bytes(int(n - 100)))
}

func (d *decoder) pos() *Position {
	return &Position{Partition: int32(d.varint()), Ledger: d.varint(), Entry: d.varint(), Batch: int32(d.varint())}
}

func (d *decoder) record(r *Record, intern func(string) string) {
	r.Key = d.string()
	r.Tenant = intern(d.string())
	flags := d.byte()
	r.Events = flags&recEvents != 0
	if flags&recBase != 0 {
		r.Base = d.pos()
	}
	if flags&recPos != 0 {
		r.Pos = d.pos()
	}
	if flags&recOpen != 0 {
		s := &openSession{}
		s.SessionID = d.sessionID()
		s.Tenant, s.UserKey = r.Tenant, r.Key
		s.Source = intern(d.string())
		s.UserID = d.string()
		if flags&recAnon != 0 {
			s.AnonymousID = r.Key
		} else {
			s.AnonymousID = d.string()
		}
		s.StartedAt = time.Unix(0, d.varint()).UTC()
		s.EndedAt = time.Unix(0, d.varint()).UTC()
		s.EventCount = int(d.uvarint())
		s.PageviewCount = int(d.uvarint())
		s.EntryPage, s.ExitPage, s.Referrer = d.string(), d.string(), d.string()
		s.Campaign = schemas.Campaign{Name: d.string(), Source: d.string(), Medium: d.string(), Term: d.string(), Content: d.string()}
		s.Browser, s.OS, s.DeviceType = intern(d.string()), intern(d.string()), intern(d.string())
		n := d.uvarint()
		if n > uint64(len(d.b))/8 {
			d.fail("bad seen count")
			return
		}
		s.Seen = make([]uint64, n)
		for i := range s.Seen {
			s.Seen[i] = binary.LittleEndian.Uint64(d.bytes(8))
		}
		r.Open = s
	}
	n := d.count()
	if n > 0 {
		r.Ended = make([]sessionEnd, n)
	}
	for i := range r.Ended {
		r.Ended[i] = sessionEnd{ID: d.sessionID(), Minute: d.varint(), DurationMs: d.varint(), Bounce: d.byte() == 1}
	}
}

func (d *decoder) minute(intern func(string) string) *Minute {
	tenant := intern(d.string())
	m := NewMinute(tenant, time.Unix(d.varint(), 0))
	for _, mp := range [...]*map[string]int64{&m.Events, &m.Pageviews, &m.Referrers, &m.UTMSources, &m.Browsers, &m.Devices} {
		n := d.count()
		for range n {
			k := d.string() // not interned: pages, referrers and event names are many
			inc(mp, k, d.varint())
		}
	}
	for _, v := range [...]*int64{&m.SessionsStarted, &m.SessionsEnded, &m.Bounces, &m.SessionDurationMs} {
		*v = d.varint()
	}
	sk := d.bytes(d.count())
	if d.err != nil {
		return nil
	}
	m.Visitors.Sketch = hyperloglog.New14()
	if err := m.Visitors.Sketch.UnmarshalBinary(slices.Clone(sk)); err != nil {
		d.fail("visitor sketch: " + err.Error())
		return nil
	}
	return m
}
