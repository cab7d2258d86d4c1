// Package checks holds saasgen's tests of the generated project's files that
// are not Go code: the local stack (deploy/compose.yaml), the Kubernetes
// manifests, the Prometheus configuration and alert rules, the Grafana
// dashboard, the CI workflows, the lint configuration, the Makefile and the
// documentation. Each is checked by the real validator of its format: the
// compose-spec schema, strict decoding into the Kubernetes API types,
// promtool, the PromQL parser, actionlint, GitLab's CI schema (through
// gitlab-ci-local) and golangci-lint.
//
// It is a module of its own so that these validators, which bring large
// dependency trees (Kubernetes, Prometheus, kustomize), stay out of the
// go.mod of saasgen itself. .ci/run installs the external tools (promtool,
// golangci-lint, gitlab-ci-local, shellcheck) and runs `go test ./...` here.
package checks
