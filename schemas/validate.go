package schemas

import "strconv"

// Validate checks the rules of the envelope and returns the first violation as a
// *ValidationError, or nil:
//   - type is one of track, page, screen, identify, group, alias;
//   - userId or anonymousId is a non-empty string;
//   - track has an event name, group a groupId, alias a previousId;
//   - identifier-like strings are at most MaxIDBytes long.
//
// It allocates nothing on success: the collector runs it on every event.
func (e *Event) Validate() error {
	switch e.Type {
	case TypeTrack:
		if e.Event == "" {
			return invalid("event", "is required for track events")
		}
	case TypePage, TypeScreen, TypeIdentify:
	case TypeGroup:
		if e.GroupID == "" {
			return invalid("groupId", "is required for group events")
		}
	case TypeAlias:
		if e.PreviousID == "" {
			return invalid("previousId", "is required for alias events")
		}
	case "":
		return invalid("type", "is required")
	default:
		return invalid("type", "must be one of track, page, screen, identify, group, alias")
	}
	if e.UserID == "" && e.AnonymousID == "" {
		return invalid("userId", "userId or anonymousId is required")
	}
	for _, f := range [...]struct{ name, value string }{
		{"messageId", e.MessageID}, {"anonymousId", e.AnonymousID}, {"userId", e.UserID},
		{"groupId", e.GroupID}, {"previousId", e.PreviousID}, {"event", e.Event}, {"name", e.Name},
	} {
		if len(f.value) > MaxIDBytes {
			return invalid(f.name, "must be at most "+strconv.Itoa(MaxIDBytes)+" bytes")
		}
	}
	return nil
}
