"""A Kubernetes-API-compatible server on loopback: store, HTTP face, validation."""
