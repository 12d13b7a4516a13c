"""The harness's Kubernetes adapter: every kubernetes-client call of `chaos` is made in this
package (an import-linter contract keeps the rest off the client), each with the retries it needs."""
