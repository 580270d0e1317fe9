// Package checks holds project-wide tests over template.yaml and the Makefile: least privilege, the
// function build wiring, and the authorizer settings that revocation depends on. It has no code of
// its own; the tests read the files the deployment reads.
package checks
