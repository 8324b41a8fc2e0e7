package schemas

// UserKey is the Pulsar message key of the event: anonymousId when present, otherwise
// userId. The SDK keeps one anonymousId across login, so one browser's events stay on
// one key (and its sessions are not split when the visitor logs in); server-side
// senders that only know userId are keyed by it.
func (e *Event) UserKey() string {
	if e.AnonymousID != "" {
		return e.AnonymousID
	}
	return e.UserID
}
