"""Where a run's results go after it ends: the notification and when it is sent
(`notification`), posting it to a webhook (`webhook`) and where an upload puts the run's files
(`upload`)."""
