output "function_name" {
  value = aws_lambda_function.rootctl.function_name
}

output "journal" {
  description = "The --journal value for `rootctl journal ...` on this table."
  value       = "dynamodb://${aws_dynamodb_table.journal.name}"
}

output "anchor" {
  description = "The --anchor value for `rootctl journal verify`."
  value       = "ssm://${aws_ssm_parameter.anchor.name}"
}

output "state_machine_arn" {
  value = aws_sfn_state_machine.fanout.arn
}

output "dead_letter_queue_url" {
  value = aws_sqs_queue.dlq.url
}

output "event_bus_arn" {
  description = "This account's default event bus: target_event_bus_arn of modules/forward-org-events when deployed in the delegated administrator."
  value       = "arn:${data.aws_partition.current.partition}:events:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:event-bus/default"
}
