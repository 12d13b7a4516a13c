"""Open-loop HTTP load generation with HDR latency and classified errors."""
