variable "name" {
  description = "Prefix of the rule's and role's names."
  type        = string
  default     = "rootctl-forward-org-events"
}

variable "target_event_bus_arn" {
  description = "The delegated administrator's default event bus in us-east-1 (the rootctl module's event_bus_arn output)."
  type        = string
  validation {
    condition     = can(regex("^arn:aws(-cn|-us-gov)?:events:us-east-1:[0-9]{12}:event-bus/default$", var.target_event_bus_arn))
    error_message = "target_event_bus_arn is arn:aws:events:us-east-1:ACCOUNT:event-bus/default (Organizations' events are in us-east-1)."
  }
}

variable "tags" {
  description = "Tags of every resource."
  type        = map(string)
  default     = {}
}
