"""Game days: the guided live mode (`spotchaos gameday`), the observers' read-only view
(`spotchaos watch`), notes in the timeline (`spotchaos note`) and the postmortem draft."""
