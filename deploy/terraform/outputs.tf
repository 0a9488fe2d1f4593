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
