package hostile

import "fmt"

// Corpus returns every case of the suite in the order they run, numbered, each with
// messageIds under its own prefix (run-NNN-), and the record the stage-specific
// attacks keep for the checks after the corpus. The marker batch is the last case.
func Corpus(p Profile, run string) ([]*Case, *Stage) {
	st := &Stage{}
	groups := []struct {
		name  string
		cases []*Case
	}{
		{"body", bodyCases()},
		{"encoding", encodingCases()},
		{"shape", shapeCases()},
		{"values", valueCases()},
		{"headers", headerCases()},
		{"connection", connectionCases()},
		{"auth/CORS", authCases()},
		{"rate limit", rateCases()},
		{"stage", stageCases(p, st)},
		{"final", []*Case{markerCase(st, run)}},
	}
	var all []*Case
	for _, g := range groups {
		for _, c := range g.cases {
			c.Group = g.name
			c.Number = len(all) + 1
			c.IDs = IDs{Prefix: fmt.Sprintf("%s-%03d-", run, c.Number)}
			all = append(all, c)
		}
	}
	return all, st
}
