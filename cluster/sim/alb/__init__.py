"""The AWS Load Balancer Controller and the ALB data plane of the simulator."""
