"""Guardrails: SCP templates for root access, and offline evaluation of SCPs.

`evaluate` is a faithful IAM policy evaluator (SCPs and deny-only identity policies),
`templates` renders the root-access SCP templates shipped as package data, and `analysis`
tells, per account, which root sessions the SCPs on its path block.
"""
