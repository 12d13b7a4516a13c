"""The serving cluster's AWS side as code: network, IAM roles (service, node, FIS and IRSA),
the EKS control plane and its OIDC provider, node bootstrap, and the interruption queues (NTH's,
Karpenter's) and their rules; every resource tagged `spotchaos:cluster=<name>` and torn down by that tag in dependency order."""
