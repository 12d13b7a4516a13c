"""spotchaos for Chaos Toolkit: an experiment's `method` calls `chaos.chaostoolkit.actions` and
its probes `chaos.chaostoolkit.probes` (Python providers), so a team that runs its chaos from
Chaos Toolkit gets spotchaos's measured verdict in its Chaos Toolkit journal.
docs/chaostoolkit/spot-interruption.json is a complete experiment; docs/chaostoolkit/README.md
says how the pieces fit."""
