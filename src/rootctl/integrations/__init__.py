"""Where an enforcement report goes besides stdout: Security Hub (findings), SNS (a summary)."""
