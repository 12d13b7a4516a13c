"""A run on a terminal: driven as a task that Ctrl-C cancels (`drive`) with its live view (`live`);
the command line and game days both drive runs this way."""
