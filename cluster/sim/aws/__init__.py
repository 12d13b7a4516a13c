"""AWS for the simulator: moto in server mode, plus the behaviour moto lacks (capacity pools,
capacity-optimized Auto Scaling, replacement of reclaimed instances, scaling activities)."""
