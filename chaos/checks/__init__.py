"""The verdict and what it reads, pure: the hypotheses' judges (`verdict`), each interrupted node's
milestones (`milestones`), the traffic's figures (`traffic_stats`, `traffic_fold`), whether the
machine was starved (`starvation`), the steady state and stop conditions (`steady_state`) and
whether a run met its experiment's expectation (`expectation`).  All of it is a function of the
journal's records and the spec."""
