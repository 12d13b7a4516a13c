"""The simulated control plane: Deployment/ReplicaSet/DaemonSet controllers, scheduler,
kubelets, node lifecycle, garbage collection, disruption budgets, and the EC2 side of nodes."""
