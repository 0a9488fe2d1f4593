# rootctl's continuous enforcement in the management account (or the IAM delegated
# administrator), in us-east-1: Organizations delivers its events to EventBridge there only.
# What each resource is for: docs/deploy.md.

data "aws_region" "current" {}
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  config      = var.config_yaml != null ? var.config_yaml : file(var.config_file)
  shards      = [for k in range(1, var.shard_count + 1) : "${k}/${var.shard_count}"]
  config_name = "/${var.name}/config"
  anchor_name = "/${var.name}/journal-head"
  # `rootctl permissions enforce`, verbatim (tests/deploy checks it is the current output).
  enforce_policy = file("${path.module}/policies/enforce.json")
}

# -- state: journal table, config, anchor -------------------------------------------------

resource "aws_dynamodb_table" "journal" {
  name         = var.journal_table_name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"
  range_key    = "sk"

  attribute {
    name = "pk"
    type = "S"
  }
  attribute {
    name = "sk"
    type = "N"
  }
  point_in_time_recovery {
    enabled = true
  }
  server_side_encryption {
    enabled = true
  }
  deletion_protection_enabled = true
  tags                        = var.tags
}

resource "aws_ssm_parameter" "config" {
  name  = local.config_name
  type  = "String"
  tier  = length(local.config) > 4096 ? "Advanced" : "Standard"
  value = local.config
  tags  = var.tags
  lifecycle {
    precondition {
      condition     = (var.config_yaml == null) != (var.config_file == null)
      error_message = "Give exactly one of config_yaml and config_file."
    }
  }
}

resource "aws_ssm_parameter" "anchor" {
  name        = local.anchor_name
  description = "The journal's verified head, written by the function after each run."
  type        = "String"
  value       = jsonencode({ entries = 0, head = join("", [for i in range(64) : "0"]) })
  tags        = var.tags
  lifecycle {
    ignore_changes = [value] # the function owns the value
  }
}

# -- function ---------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "rootctl" {
  name              = "/aws/lambda/${var.name}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_sqs_queue" "dlq" {
  name                      = "${var.name}-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
  tags                      = var.tags
}

resource "aws_lambda_function" "rootctl" {
  function_name    = var.name
  role             = aws_iam_role.function.arn
  handler          = "rootctl.lambda_handler.handler"
  runtime          = var.runtime
  architectures    = [var.architecture]
  filename         = var.package_file
  source_code_hash = filebase64sha256(var.package_file)
  timeout          = 900
  memory_size      = var.memory_size

  environment {
    variables = {
      ROOTCTL_CONFIG       = "ssm://${aws_ssm_parameter.config.name}"
      ROOTCTL_JOURNAL      = "dynamodb://${aws_dynamodb_table.journal.name}"
      ROOTCTL_ANCHOR       = "ssm://${aws_ssm_parameter.anchor.name}"
      ROOTCTL_SECURITY_HUB = var.security_hub_enabled ? "true" : "false"
      ROOTCTL_NOTIFY_TOPIC = var.notify_topic_arn == null ? "" : var.notify_topic_arn
    }
  }
  dead_letter_config {
    target_arn = aws_sqs_queue.dlq.arn
  }
  logging_config {
    log_format = "Text" # the function writes one JSON object per line itself
    log_group  = aws_cloudwatch_log_group.rootctl.name
  }
  tags       = var.tags
  depends_on = [aws_iam_role_policy.function_state]
}

resource "aws_lambda_function_event_invoke_config" "rootctl" {
  function_name          = aws_lambda_function.rootctl.function_name
  maximum_retry_attempts = 0 # a retry redoes a whole pass; the next event or schedule will
  dynamic "destination_config" {
    for_each = var.notify_topic_arn == null ? [] : [var.notify_topic_arn]
    content {
      on_failure {
        destination = destination_config.value
      }
    }
  }
}

# -- the function's role: exactly `rootctl permissions enforce`, plus its own state --------

data "aws_iam_policy_document" "lambda_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "function" {
  name               = "${var.name}-function"
  assume_role_policy = data.aws_iam_policy_document.lambda_trust.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "function_enforce" {
  name   = "rootctl-permissions-enforce"
  role   = aws_iam_role.function.id
  policy = local.enforce_policy
}

data "aws_iam_policy_document" "function_state" {
  statement {
    sid       = "Journal"
    actions   = ["dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"]
    resources = [aws_dynamodb_table.journal.arn]
  }
  statement {
    sid       = "Config"
    actions   = ["ssm:GetParameter"]
    resources = [aws_ssm_parameter.config.arn, aws_ssm_parameter.anchor.arn]
  }
  statement {
    sid       = "Anchor"
    actions   = ["ssm:PutParameter"]
    resources = [aws_ssm_parameter.anchor.arn]
  }
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.rootctl.arn}:*"]
  }
  statement {
    sid       = "DeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]
  }
  dynamic "statement" {
    for_each = var.notify_topic_arn == null ? [] : [var.notify_topic_arn]
    content {
      sid       = "Notify"
      actions   = ["sns:Publish"]
      resources = [statement.value]
    }
  }
  dynamic "statement" {
    for_each = var.security_hub_enabled ? [1] : []
    content {
      sid       = "SecurityHubImport"
      actions   = ["securityhub:BatchImportFindings"]
      resources = ["arn:${data.aws_partition.current.partition}:securityhub:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:product/${data.aws_caller_identity.current.account_id}/default"]
    }
  }
  # GetFindings finds the earlier imports to update or archive; it reads only this
  # account's own hub, so "*" reaches nothing more (docs/deploy.md).
  dynamic "statement" {
    for_each = var.security_hub_enabled ? [1] : []
    content {
      sid       = "SecurityHubRead"
      actions   = ["securityhub:GetFindings"]
      resources = ["*"]
    }
  }
}

resource "aws_iam_role_policy" "function_state" {
  name   = "rootctl-state"
  role   = aws_iam_role.function.id
  policy = data.aws_iam_policy_document.function_state.json
}

# -- events: accounts joining, and the scheduled fan-out -----------------------------------

# In the IAM delegated administrator, Organizations' events reach this account only when
# the management account forwards them (modules/forward-org-events): let it put them on
# this region's default bus.
resource "aws_cloudwatch_event_bus_policy" "org_events" {
  count          = var.org_events_source_account_id == null ? 0 : 1
  event_bus_name = "default"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "RootctlOrgEventsFromManagement"
      Effect    = "Allow"
      Principal = { AWS = "arn:${data.aws_partition.current.partition}:iam::${var.org_events_source_account_id}:root" }
      Action    = "events:PutEvents"
      Resource  = "arn:${data.aws_partition.current.partition}:events:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:event-bus/default"
    }]
  })
}

resource "aws_cloudwatch_event_rule" "joined" {
  name        = "${var.name}-account-joined"
  description = "An account joined or was created: enforce on it within minutes."
  event_pattern = jsonencode({
    source        = ["aws.organizations"]
    "detail-type" = ["AWS Service Event via CloudTrail", "AWS API Call via CloudTrail"]
    detail        = { eventName = ["AccountJoinedOrganization", "CreateAccountResult"] }
  })
  tags = var.tags
  lifecycle {
    precondition {
      condition     = data.aws_region.current.name == "us-east-1"
      error_message = "Deploy in us-east-1: Organizations sends its events to EventBridge there only."
    }
  }
}

resource "aws_cloudwatch_event_target" "joined" {
  rule = aws_cloudwatch_event_rule.joined.name
  arn  = aws_lambda_function.rootctl.arn
  dead_letter_config {
    arn = aws_sqs_queue.dlq.arn
  }
  retry_policy {
    maximum_event_age_in_seconds = 3600
    maximum_retry_attempts       = 5
  }
}

resource "aws_lambda_permission" "joined" {
  statement_id  = "AllowAccountJoinedRule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.rootctl.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.joined.arn
}

resource "aws_sqs_queue_policy" "dlq" {
  queue_url = aws_sqs_queue.dlq.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "EventBridgeDeadLetters"
      Effect    = "Allow"
      Principal = { Service = "events.amazonaws.com" }
      Action    = "sqs:SendMessage"
      Resource  = aws_sqs_queue.dlq.arn
      Condition = { ArnEquals = { "aws:SourceArn" = [aws_cloudwatch_event_rule.joined.arn, aws_cloudwatch_event_rule.schedule.arn] } }
    }]
  })
}

# The scheduled pass: a Step Functions Map runs one invocation per shard (docs/deploy.md).
resource "aws_sfn_state_machine" "fanout" {
  name     = "${var.name}-scheduled-pass"
  role_arn = aws_iam_role.fanout.arn
  definition = jsonencode({
    Comment = "One rootctl enforcement pass per shard"
    StartAt = "Shards"
    States = {
      Shards = {
        Type           = "Map"
        ItemsPath      = "$.shards"
        MaxConcurrency = var.shard_concurrency
        ItemProcessor = {
          ProcessorConfig = { Mode = "INLINE" }
          StartAt         = "Enforce"
          States = {
            Enforce = {
              Type       = "Task"
              Resource   = "arn:${data.aws_partition.current.partition}:states:::lambda:invoke"
              Parameters = { FunctionName = aws_lambda_function.rootctl.arn, "Payload" = { "shard.$" = "$" } }
              OutputPath = "$.Payload.summary"
              Retry = [{
                ErrorEquals     = ["Lambda.ServiceException", "Lambda.TooManyRequestsException", "Lambda.SdkClientException"]
                IntervalSeconds = 10
                MaxAttempts     = 3
                BackoffRate     = 2
              }]
              End = true
            }
          }
        }
        End = true
      }
    }
  })
  tags = var.tags
}

data "aws_iam_policy_document" "states_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "fanout" {
  name               = "${var.name}-fanout"
  assume_role_policy = data.aws_iam_policy_document.states_trust.json
  inline_policy {
    name = "invoke"
    policy = jsonencode({
      Version   = "2012-10-17"
      Statement = [{ Effect = "Allow", Action = "lambda:InvokeFunction", Resource = aws_lambda_function.rootctl.arn }]
    })
  }
  tags = var.tags
}

resource "aws_cloudwatch_event_rule" "schedule" {
  name                = "${var.name}-schedule"
  description         = "The full pass, fanned out over ${var.shard_count} shard(s)."
  schedule_expression = var.schedule_expression
  tags                = var.tags
}

resource "aws_cloudwatch_event_target" "schedule" {
  rule     = aws_cloudwatch_event_rule.schedule.name
  arn      = aws_sfn_state_machine.fanout.arn
  role_arn = aws_iam_role.schedule.arn
  input    = jsonencode({ shards = local.shards })
  dead_letter_config {
    arn = aws_sqs_queue.dlq.arn
  }
}

data "aws_iam_policy_document" "events_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "schedule" {
  name               = "${var.name}-schedule"
  assume_role_policy = data.aws_iam_policy_document.events_trust.json
  inline_policy {
    name = "start"
    policy = jsonencode({
      Version   = "2012-10-17"
      Statement = [{ Effect = "Allow", Action = "states:StartExecution", Resource = aws_sfn_state_machine.fanout.arn }]
    })
  }
  tags = var.tags
}
