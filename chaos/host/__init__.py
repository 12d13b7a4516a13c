"""How the harness's process shares its machine: the event loop it runs on (`event_loop`) and
work done at a lower CPU priority so it does not starve runs beside it (`low_priority`)."""
