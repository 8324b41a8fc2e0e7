package schemas

import (
	"strconv"
	"unicode/utf8"
)

// Validate checks the rules of the envelope on a decoded event and returns the first
// violation as a *ValidationError, or nil:
//   - type is one of track, page, screen, identify, group, alias;
//   - track has a non-empty event, group a groupId, alias a previousId;
//   - userId or anonymousId is a non-empty string;
//   - messageId, anonymousId, userId, groupId, previousId, event and name are at most
//     MaxIDLength characters.
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
		if tooLong(f.value) {
			return invalid(f.name, "must be at most "+strconv.Itoa(MaxIDLength)+" characters")
		}
	}
	return nil
}

// tooLong reports whether s has more than MaxIDLength characters. Counting runes is
// only needed when s has more bytes than that.
func tooLong(s string) bool {
	return len(s) > MaxIDLength && utf8.RuneCountInString(s) > MaxIDLength
}
