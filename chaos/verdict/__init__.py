"""The experiment's verdict, a pure function of its spec and its journal: each hypothesis judged by
its check (chaos/checks), breaches measured only while the machine was starved made inconclusive,
the outcome and its exit code (`outcome`); the steady state and stop conditions (`steady_state`);
whether a run met its experiment's expectation (`expectation`)."""
