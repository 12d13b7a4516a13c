"""Undoing what a run did: the intents it journals before each change (`log`), the steps that
undo each kind of change (`steps`), their writer (`writer`) and `spotchaos cleanup`, which replays
what a killed run left (`cleanup`)."""
