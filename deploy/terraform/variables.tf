variable "name" {
  description = "Prefix of every resource name."
  type        = string
  default     = "rootctl"
}

variable "package_file" {
  description = "The deployment zip built by scripts/build-lambda."
  type        = string
}

variable "schedule_expression" {
  description = "When the full pass runs (EventBridge schedule expression)."
  type        = string
  default     = "rate(1 day)"
}

variable "config_yaml" {
  description = "rootctl.yaml, inline. Give this or config_file."
  type        = string
  default     = null
}

variable "config_file" {
  description = "Path of a rootctl.yaml. Give this or config_yaml."
  type        = string
  default     = null
}

variable "journal_table_name" {
  description = "DynamoDB table of the journal (created by the module)."
  type        = string
  default     = "rootctl-journal"
}

variable "notify_topic_arn" {
  description = "SNS topic for each run's summary (ROOTCTL_NOTIFY_TOPIC) and failed invocations (null: none). Grants sns:Publish on it only."
  type        = string
  default     = null
  validation {
    condition     = var.notify_topic_arn == null || can(regex("^arn:aws(-cn|-us-gov)?:sns:[a-z]{2}(-[a-z]+)+-[0-9]:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\\.fifo)?$", var.notify_topic_arn))
    error_message = "notify_topic_arn is an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)."
  }
}

variable "security_hub_enabled" {
  description = "Also import findings into Security Hub (ROOTCTL_SECURITY_HUB; grants securityhub:BatchImportFindings on the account's default product and securityhub:GetFindings)."
  type        = bool
  default     = false
}

variable "org_events_source_account_id" {
  description = "Deployed in the IAM delegated administrator: the management account's id, allowed to put the forwarded Organizations events on this account's default bus (modules/forward-org-events). null in the management account."
  type        = string
  default     = null
  validation {
    condition     = var.org_events_source_account_id == null || can(regex("^[0-9]{12}$", var.org_events_source_account_id))
    error_message = "org_events_source_account_id is a 12-digit account id."
  }
}

variable "shard_count" {
  description = "Shards of the scheduled pass (docs/deploy.md: 1 up to ~1,000 accounts)."
  type        = number
  default     = 1
  validation {
    condition     = var.shard_count >= 1 && var.shard_count <= 1000 && floor(var.shard_count) == var.shard_count
    error_message = "shard_count is a whole number from 1 to 1000."
  }
}

variable "shard_concurrency" {
  description = "Shards the Step Functions Map runs at once."
  type        = number
  default     = 10
}

variable "log_retention_days" {
  description = "CloudWatch Logs retention of the function's log group."
  type        = number
  default     = 365
}

variable "runtime" {
  description = "Lambda runtime (build the zip with the same --python)."
  type        = string
  default     = "python3.12"
}

variable "architecture" {
  description = "x86_64 or arm64 (build the zip with the same --arch)."
  type        = string
  default     = "x86_64"
}

variable "memory_size" {
  description = "Function memory in MB (CPU grows with it; the pass is I/O bound)."
  type        = number
  default     = 1024
}

variable "tags" {
  description = "Tags of every resource."
  type        = map(string)
  default     = {}
}
