package schemas

// TopicSessionState holds the processor's state records, keyed by user key: each user
// key's open session, the position of its last event and the aggregate counts its
// events added. Every processor instance reads it, so a key's next owner continues
// where the previous one stopped.
const TopicSessionState = "session-state"
