"""Privileged root sessions: unlock and restore S3/SQS policies, exec, CloudTrail timeline.

Modules: `policy` (lock analysis, policy validation), `resources`/`s3`/`sqs` (buckets and
queues), `rules` (emergency-access rules, applied by rootctl.run.RunContext), `bind` (a bucket or
queue bound to its task session), `unlock` (plan/apply/verify),
`operations` (unlock, restore and list-locked as library calls), `execute` (exec),
`events` (the CloudTrail timeline, and the session keys the journal knows).
"""
