"""Privileged root sessions: unlock and restore S3/SQS policies, exec, CloudTrail timeline.

Modules: `policy` (lock analysis, policy validation), `resources`/`s3`/`sqs` (buckets and
queues), `rules` (emergency-access rules), `context` (rules, the journal recorder
and the root-session broker of one command run), `unlock` (plan/apply/verify),
`operations` (unlock, restore and list-locked as library calls), `execute` (exec),
`events` (the CloudTrail timeline, and the session keys the journal knows).
"""
