# In the management account, us-east-1: forward Organizations' account-join events to the
# IAM delegated administrator's default bus, where the rootctl module's rule runs the
# function. Organizations delivers its events to the management account's us-east-1
# default bus only; the DA never sees them otherwise. docs/deploy.md has the steps.

data "aws_region" "current" {}

resource "aws_cloudwatch_event_rule" "forward" {
  name        = var.name
  description = "Forward AccountJoinedOrganization / CreateAccountResult to rootctl in the delegated administrator."
  event_pattern = jsonencode({
    source        = ["aws.organizations"]
    "detail-type" = ["AWS Service Event via CloudTrail", "AWS API Call via CloudTrail"]
    detail        = { eventName = ["AccountJoinedOrganization", "CreateAccountResult"] }
  })
  tags = var.tags
  lifecycle {
    precondition {
      condition     = data.aws_region.current.name == "us-east-1"
      error_message = "Deploy in us-east-1 of the management account: Organizations sends its events there only."
    }
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

# EventBridge puts the events on the other account's bus as this role.
resource "aws_iam_role" "forward" {
  name               = var.name
  assume_role_policy = data.aws_iam_policy_document.events_trust.json
  inline_policy {
    name = "put-events"
    policy = jsonencode({
      Version   = "2012-10-17"
      Statement = [{ Effect = "Allow", Action = "events:PutEvents", Resource = var.target_event_bus_arn }]
    })
  }
  tags = var.tags
}

resource "aws_cloudwatch_event_target" "forward" {
  rule     = aws_cloudwatch_event_rule.forward.name
  arn      = var.target_event_bus_arn
  role_arn = aws_iam_role.forward.arn
}
