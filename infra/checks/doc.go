// Package checks holds project-wide tests over template.yaml, the Makefile, pkg/registry and
// api/openapi/openapi.yaml: least privilege, the function build wiring, that every route is
// deployed, handled and documented alike, and the authorizer settings that revocation depends on.
// It has no code of its own; the tests read the files the deployment reads.
package checks
