// Package schemas is the data contract every part of Clicktrail shares: the event
// envelope (the Segment Tracking API spec) as Go types, its decoding and validation
// with errors that name the field, the user-key rule, the clock-skew correction, topic
// and subscription names, and the record sent to the invalid-events topic.
//
// The JSON Schema files in jsonschema/ say the same as Validate, for other languages
// (the SDK's tests use them); vectors_test.go runs testdata/vectors.json through both
// so they cannot drift apart.
package schemas
