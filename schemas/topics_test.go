package schemas

import "testing"

func TestTopicIsTheFullPersistentName(t *testing.T) {
	if got := Topic("acme", "web", TopicEvents); got != "persistent://acme/web/events" {
		t.Errorf("Topic = %q", got)
	}
	if got := Topic("acme", "web", TopicInvalid); got != "persistent://acme/web/events-invalid" {
		t.Errorf("Topic = %q", got)
	}
}

func TestCheckNamespace(t *testing.T) {
	tests := []struct {
		name, tenant, namespace string
		ok                      bool
	}{
		{"letters, digits and dashes are valid", "acme", "web-1", true},
		{"every character Pulsar allows is valid", "a_b=c:d.e-f", "NS_9", true},
		{"a slash in the tenant is rejected", "ac/me", "web", false},
		{"a space in the namespace is rejected", "acme", "web site", false},
		{"an empty tenant is rejected", "", "web", false},
		{"a namespace of two dots is rejected", "acme", "..", false},
		{"non-ASCII letters are rejected", "acmé", "web", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckNamespace(tc.tenant, tc.namespace)
			if (err == nil) != tc.ok {
				t.Errorf("CheckNamespace(%q, %q) = %v", tc.tenant, tc.namespace, err)
			}
		})
	}
}
