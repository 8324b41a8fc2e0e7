// Package layering has no code. Its test keeps the import rules of the repository's
// layout (README.md, "Layout"): deploy/ imports the product and nothing of the product
// (collector/, processor/, archiver/, schemas/, internal/), tests included, imports
// deploy/; and no service binary links Pulsar's admin client, which only provisioning
// and the test harness use.
package layering
