// Package schemas is the data contract every part of Clicktrail shares: the event
// envelope (the Segment Tracking API spec) as Go types, its decoding and validation
// with errors that name the field, the user-key rule, the clock-skew correction, topic
// and subscription names, the record sent to the invalid-events topic, and the archive's
// Parquet rows.
//
// An event goes through two steps. ParseEvent checks the JSON: size (MaxEventBytes),
// nesting (MaxDepth), and the JSON type of every known field, including the known
// context fields (Event.Ctx). Validate checks the envelope's rules: a known type, a
// userId or anonymousId, event for track, groupId for group, previousId for alias,
// identifiers of at most MaxIDLength characters. Both return a *ValidationError whose
// Field is a JSON path ("context.page.url") and whose Reason is stable text.
//
// The decoder reads JSON as JavaScript and JSON Schema do, not as encoding/json does:
// keys match exactly (case-sensitive), the last of repeated keys counts, and null counts
// as an absent optional field (analytics.js sends "userId": null). Fields the collector
// owns (receivedAt, messageIdGenerated, tenant, source, enrichment) are never taken from
// a client; DecodeStored reads them back from Pulsar.
//
// The JSON Schema files in jsonschema/ (draft 2020-12) say the same as ParseEvent and
// Validate, for other languages (the SDK's tests use them with ajv); vectors_test.go runs
// testdata/vectors.json through both so they cannot drift apart, and FuzzParseEvent
// compares them on generated input. testdata/clock_skew.json holds the cases of
// CorrectTimestamp for the Go and the TypeScript tests alike.
package schemas
