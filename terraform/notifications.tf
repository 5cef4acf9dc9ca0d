# ---------------------------------------------------------------------------------------------
# Notifications: one encrypted SNS topic for the state machine's own messages, EventBridge
# failure events and CloudWatch alarms.
# ---------------------------------------------------------------------------------------------

# EventBridge and CloudWatch alarms cannot publish to a topic under the AWS-managed aws/sns key
# (its key policy cannot be changed), so the default is a small customer-managed key.
data "aws_iam_policy_document" "sns_key" {
  #checkov:skip=CKV_AWS_109:A key policy's Resource "*" means "this key"; the root statement is AWS's default key policy.
  #checkov:skip=CKV_AWS_111:A key policy's Resource "*" means "this key"; the root statement is AWS's default key policy.
  #checkov:skip=CKV_AWS_356:A key policy's Resource "*" means "this key", not every resource.
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  # The statement AWS documents for AWS event sources publishing to an encrypted topic: SNS
  # developer guide, "Enable compatibility between event sources from AWS services and encrypted
  # topics", https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
  # (events.amazonaws.com for EventBridge, cloudwatch.amazonaws.com for alarms). It carries no
  # aws:SourceAccount/aws:SourceArn condition: SNS makes these KMS calls for the publisher, and
  # published guidance says EventBridge delivery does not satisfy such a condition here, so it
  # would drop every failure event. For alarms the guide's statement has no condition either,
  # and the safe reading follows it. The confused-deputy guards stay in the topic policy below,
  # which decides who may publish at all; this key encrypts nothing but the topic.
  # Settle on a real account: add the condition, fail an execution, and watch the rule's
  # FailedInvocations metric (and an alarm's action history) for KMS access denied.
  statement {
    sid       = "AwsEventSourcesPublishToTopic"
    actions   = ["kms:GenerateDataKey*", "kms:Decrypt"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com", "cloudwatch.amazonaws.com"]
    }
  }
}

resource "aws_kms_key" "sns" {
  count = var.sns_kms_key_id == "" ? 1 : 0

  description             = "Encrypts the ${local.name} notification topic."
  enable_key_rotation     = true
  deletion_window_in_days = 7
  policy                  = data.aws_iam_policy_document.sns_key.json
}

resource "aws_kms_alias" "sns" {
  count = var.sns_kms_key_id == "" ? 1 : 0

  name          = "alias/${local.name}-notifications"
  target_key_id = aws_kms_key.sns[0].key_id
}

data "aws_kms_key" "sns" {
  count = var.sns_kms_key_id == "" ? 0 : 1

  key_id = var.sns_kms_key_id
}

resource "aws_sns_topic" "notifications" {
  name              = "${local.name}-notifications"
  kms_master_key_id = local.sns_kms_key_arn
}

resource "aws_sns_topic_subscription" "email" {
  count = var.notification_email == "" ? 0 : 1

  topic_arn = aws_sns_topic.notifications.arn
  protocol  = "email"
  endpoint  = var.notification_email
}

data "aws_iam_policy_document" "notifications" {
  statement {
    sid = "AccountOwnerManages"
    actions = [
      "sns:GetTopicAttributes",
      "sns:SetTopicAttributes",
      "sns:AddPermission",
      "sns:RemovePermission",
      "sns:DeleteTopic",
      "sns:Subscribe",
      "sns:ListSubscriptionsByTopic",
      "sns:Publish",
    ]
    resources = [aws_sns_topic.notifications.arn]

    principals {
      type        = "AWS"
      identifiers = [local.account_id]
    }
  }

  statement {
    sid       = "ServicesPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.notifications.arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com", "cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.notifications.arn]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sns_topic_policy" "notifications" {
  arn    = aws_sns_topic.notifications.arn
  policy = data.aws_iam_policy_document.notifications.json
}

# ---- Failure events routed to the topic -------------------------------------------------------

resource "aws_cloudwatch_event_rule" "state_machine_failed" {
  name        = "${local.name}-state-machine-failed"
  description = "Training or deployment executions that failed, timed out or were aborted."

  event_pattern = jsonencode({
    source      = ["aws.states"]
    detail-type = ["Step Functions Execution Status Change"]
    detail = {
      stateMachineArn = [for machine in aws_sfn_state_machine.this : machine.arn]
      status          = ["FAILED", "TIMED_OUT", "ABORTED"]
    }
  })
}

resource "aws_cloudwatch_event_target" "state_machine_failed" {
  rule      = aws_cloudwatch_event_rule.state_machine_failed.name
  target_id = "notifications"
  arn       = aws_sns_topic.notifications.arn

  input_transformer {
    input_paths = {
      execution = "$.detail.executionArn"
      status    = "$.detail.status"
    }
    input_template = "\"Step Functions execution <execution> ended with status <status>.\""
  }
}

resource "aws_cloudwatch_event_rule" "pipeline_failed" {
  name        = "${local.name}-pipeline-failed"
  description = "${local.pipeline_name} pipeline executions that failed."

  event_pattern = jsonencode({
    source      = ["aws.sagemaker"]
    detail-type = ["SageMaker Model Building Pipeline Execution Status Change"]
    detail = {
      pipelineArn                    = [aws_sagemaker_pipeline.this.arn]
      currentPipelineExecutionStatus = ["Failed"]
    }
  })
}

resource "aws_cloudwatch_event_target" "pipeline_failed" {
  rule      = aws_cloudwatch_event_rule.pipeline_failed.name
  target_id = "notifications"
  arn       = aws_sns_topic.notifications.arn

  input_transformer {
    input_paths = {
      execution = "$.detail.pipelineExecutionArn"
    }
    input_template = "\"SageMaker pipeline execution <execution> failed.\""
  }
}
