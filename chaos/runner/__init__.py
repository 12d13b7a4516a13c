"""The in-cluster runner (`spotchaos runner render`): its Kubernetes objects and Dockerfile
(`manifests`), the IAM policy it needs and no more (`policy`), and the rendering from the
command's options (`render`)."""
