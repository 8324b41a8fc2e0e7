package compat

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// ReadmeSection is the README section whose settings the test runs as written.
const ReadmeSection = "## Use the SDK you already have"

// Placeholders of the README's settings, which the test fills in.
const (
	placeholderKey  = "WRITE_KEY"
	placeholderURL  = "https://collector.example.com"
	placeholderHost = "collector.example.com"
)

// Snippets returns the code blocks of the README's section, by the name their first
// line gives (`// analytics.js`, `# rudder-sdk-python`), without that line; and the
// section's text.
func Snippets(readme string) (map[string]string, string, error) {
	b, err := os.ReadFile(readme)
	if err != nil {
		return nil, "", err
	}
	text := string(b)
	start := strings.Index(text, "\n"+ReadmeSection+"\n")
	if start < 0 {
		return nil, "", fmt.Errorf("%s has no section %q", readme, ReadmeSection)
	}
	section := text[start+1:]
	if end := strings.Index(section[len(ReadmeSection):], "\n## "); end >= 0 {
		section = section[:len(ReadmeSection)+end]
	}
	out := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(section))
	var name string
	var block []string
	in := false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case !in && strings.HasPrefix(line, "```"):
			in, name, block = true, "", nil
		case in && strings.HasPrefix(line, "```"):
			in = false
			if name != "" {
				out[name] = strings.Join(block, "\n") + "\n"
			}
		case in && name == "" && len(block) == 0 && (strings.HasPrefix(line, "// ") || strings.HasPrefix(line, "# ")):
			name = strings.TrimSpace(strings.TrimLeft(line, "/# "))
		case in:
			block = append(block, line)
		}
	}
	return out, section, nil
}

// Fill puts the test's write key and collector into a snippet: base is the
// collector's http URL (http://127.0.0.1:port).
func Fill(snippet, writeKey, base string) string {
	host := strings.TrimPrefix(base, "http://")
	s := strings.ReplaceAll(snippet, placeholderKey, writeKey)
	s = strings.ReplaceAll(s, placeholderURL, base)
	s = strings.ReplaceAll(s, placeholderHost, host)
	return strings.ReplaceAll(s, "protocol: 'https'", "protocol: 'http'")
}

var (
	jsExport     = regexp.MustCompile(`(?m)^export const (\w+)`)
	pythonImport = regexp.MustCompile(`(?m)^from \S+ import \w+(?: as (\w+))?|^import \S+ as (\w+)`)
	pythonModule = regexp.MustCompile(`(?m)^from \S+ import (\w+)`)
)

// SnippetVar is the name of what a snippet sets up: a JavaScript snippet's exported
// const, a Python snippet's imported module.
func SnippetVar(snippet string) string {
	if m := jsExport.FindStringSubmatch(snippet); m != nil {
		return m[1]
	}
	if m := pythonImport.FindStringSubmatch(snippet); m != nil {
		if m[1] != "" {
			return m[1]
		}
		if m[2] != "" {
			return m[2]
		}
	}
	if m := pythonModule.FindStringSubmatch(snippet); m != nil {
		return m[1]
	}
	return ""
}

// ForPage turns a JavaScript snippet written for a bundler into a page script: its
// imports come from the library's browser build (the page defines them), and it
// exports nothing.
func ForPage(snippet string) string {
	var lines []string
	for _, l := range strings.Split(snippet, "\n") {
		if strings.HasPrefix(l, "import ") {
			continue
		}
		lines = append(lines, strings.TrimPrefix(l, "export "))
	}
	return strings.Join(lines, "\n")
}
