package flagenv

import (
	"errors"
	"fmt"
)

// Validation collects what a config's Validate finds wrong, each error naming the
// setting by its flag and its environment variable.
type Validation struct{ errs []error }

// Check records, unless ok, that value is no valid setting of the flag name, because
// of why: "invalid --collector.max-body (CLICKTRAIL_COLLECTOR_MAX_BODY=10): must be
// between 1 KB and 64 MB". A string value is quoted, so that an empty one shows.
func (v *Validation) Check(ok bool, name string, value any, why string) {
	if ok {
		return
	}
	format := "invalid --%s (%s=%v): %s"
	if _, isString := value.(string); isString {
		format = "invalid --%s (%s=%q): %s"
	}
	v.errs = append(v.errs, fmt.Errorf(format, name, EnvName(name), value, why))
}

// Err joins the errors recorded; nil when every setting is valid.
func (v *Validation) Err() error { return errors.Join(v.errs...) }
