"""HTTP/1.1 on raw asyncio protocols and httptools, for the simulated data plane: the serving
pods' REST servers and the ALB's two sides.  Cheap per request (no task, no stream object),
because every simulated request is paid for with the simulator's CPU (docs/simulator.md)."""
