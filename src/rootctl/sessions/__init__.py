"""Privileged root sessions: unlock and restore S3/SQS policies, exec, CloudTrail timeline.

Modules: `policy` (lock analysis, policy validation), `s3`/`sqs` (the resources), `rules`
(emergency-access rules), `record` (journaling), `unlock` (plan/apply/verify),
`locked` (list-locked), `execute` (exec), `events` (timeline).
"""
