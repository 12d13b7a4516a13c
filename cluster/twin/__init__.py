"""The twin: the user's own cluster built in the simulator from the files they deploy with (an
eksctl ClusterConfig, Kubernetes manifests, kustomize directories).  `inputs` reads them as
`kubectl apply -f` and `eksctl create cluster -f` would take them."""
