"""What the checks read, computed from the journal: each interrupted node's milestones
(`milestones`), the traffic's figures (`traffic_stats`, kept up to date by `traffic_fold`),
whether the machine was starved (`starvation`), and how a check judges (`judging`: statuses,
results and the evidence handed to every judge).  Pure."""
