# ---------------------------------------------------------------------------------------------
# Trigger: S3 "Object Created" under data/raw/*.csv -> EventBridge -> Lambda -> StartExecution.
# The Lambda is built by `make` (build/trigger.zip); failed async invocations land in an
# encrypted SQS dead-letter queue.
# ---------------------------------------------------------------------------------------------

resource "aws_sqs_queue" "trigger_dlq" {
  name                      = "${local.trigger_name}-dlq"
  sqs_managed_sse_enabled   = true
  message_retention_seconds = 1209600
}

data "aws_iam_policy_document" "trigger_dlq" {
  statement {
    sid       = "EventBridgeDeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.trigger_dlq.arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values = concat(
        ["arn:${local.partition}:events:${local.region}:${local.account_id}:rule/${local.trigger_name}"],
        [for key, _ in local.registry_events : "arn:${local.partition}:events:${local.region}:${local.account_id}:rule/${local.name}-model-package-${key}"],
      )
    }
  }
}

resource "aws_sqs_queue_policy" "trigger_dlq" {
  queue_url = aws_sqs_queue.trigger_dlq.id
  policy    = data.aws_iam_policy_document.trigger_dlq.json
}

resource "aws_cloudwatch_log_group" "trigger" {
  #checkov:skip=CKV_AWS_158:Logs use CloudWatch's default encryption; a CMK per log group adds cost without a stated need.
  #checkov:skip=CKV_AWS_338:Retention is a variable (log_retention_days); a one-year floor is not required for this project.
  name              = "/aws/lambda/${local.trigger_name}"
  retention_in_days = var.log_retention_days
}

data "aws_iam_policy_document" "trigger_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "trigger" {
  name               = local.trigger_name
  description        = "Role of the ${local.trigger_name} Lambda."
  assume_role_policy = data.aws_iam_policy_document.trigger_assume.json
}

data "aws_iam_policy_document" "trigger" {
  statement {
    sid = "StartTrainingRuns"
    # ListExecutions lets the handler see a run already in flight (one run at a time).
    actions   = ["states:StartExecution", "states:ListExecutions"]
    resources = [aws_sfn_state_machine.this.arn]
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.trigger.arn}:*"]
  }

  statement {
    sid       = "DeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.trigger_dlq.arn]
  }

  statement {
    sid = "XRayTracing"
    # X-Ray segment APIs have no resource-level permissions: AWS requires Resource "*".
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "trigger" {
  name   = "start-state-machine"
  role   = aws_iam_role.trigger.id
  policy = data.aws_iam_policy_document.trigger.json
}

resource "aws_lambda_function" "trigger" {
  #checkov:skip=CKV_AWS_117:The function only calls AWS APIs; a VPC would add NAT/endpoints for no isolation gain.
  #checkov:skip=CKV_AWS_173:Environment holds only ARNs, a prefix and a log level; no secrets to encrypt with a CMK.
  #checkov:skip=CKV_AWS_272:Code signing needs a Signer profile; the zip is built and hashed by make in CI.
  function_name    = local.trigger_name
  description      = "Starts ${local.state_machine_name} for new CSV files under data/raw/."
  role             = aws_iam_role.trigger.arn
  filename         = "${local.build_dir}/trigger.zip"
  source_code_hash = filebase64sha256("${local.build_dir}/trigger.zip")
  handler          = "handler.lambda_handler"
  runtime          = "python3.12"
  timeout          = 30
  memory_size      = 128

  # One execution at a time: concurrent uploads queue instead of racing to start runs.
  reserved_concurrent_executions = 1

  environment {
    variables = {
      STATE_MACHINE_ARN = aws_sfn_state_machine.this.arn
      DATA_PREFIX       = "data/raw/"
      LOG_LEVEL         = var.trigger_log_level
    }
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.trigger_dlq.arn
  }

  tracing_config {
    mode = "Active"
  }

  depends_on = [aws_cloudwatch_log_group.trigger, aws_iam_role_policy.trigger]
}

resource "aws_cloudwatch_event_rule" "trigger" {
  count = var.enable_auto_trigger ? 1 : 0

  name        = local.trigger_name
  description = "New CSV under s3://${local.bucket_name}/data/raw/ starts ${local.state_machine_name}."

  event_pattern = jsonencode({
    source      = ["aws.s3"]
    detail-type = ["Object Created"]
    detail = {
      bucket = { name = [local.bucket_name] }
      # One wildcard expresses prefix AND suffix; separate prefix/suffix filters would be OR-ed.
      object = { key = [{ wildcard = "data/raw/*.csv" }] }
    }
  })
}

resource "aws_cloudwatch_event_target" "trigger" {
  count = var.enable_auto_trigger ? 1 : 0

  rule      = aws_cloudwatch_event_rule.trigger[0].name
  target_id = "trigger-lambda"
  arn       = aws_lambda_function.trigger.arn

  retry_policy {
    maximum_event_age_in_seconds = 3600
    maximum_retry_attempts       = 3
  }

  dead_letter_config {
    arn = aws_sqs_queue.trigger_dlq.arn
  }
}

resource "aws_lambda_permission" "trigger" {
  count = var.enable_auto_trigger ? 1 : 0

  statement_id  = "AllowEventBridgeInvoke"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.trigger.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.trigger[0].arn
}

# ---------------------------------------------------------------------------------------------
# Model Registry events -> the state machine: approving a package deploys it; rejecting the
# package an endpoint serves is reported. Governance stays in the state machine, which checks the
# package's group and status itself before deploying anything.
# ---------------------------------------------------------------------------------------------

data "aws_iam_policy_document" "registry_events_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "registry_events" {
  name               = "${local.name}-registry-events"
  description        = "Lets EventBridge start ${local.state_machine_name} on Model Registry approvals."
  assume_role_policy = data.aws_iam_policy_document.registry_events_assume.json
}

data "aws_iam_policy_document" "registry_events" {
  statement {
    sid       = "StartDeployPath"
    actions   = ["states:StartExecution"]
    resources = [aws_sfn_state_machine.this.arn]
  }
}

resource "aws_iam_role_policy" "registry_events" {
  name   = "start-state-machine"
  role   = aws_iam_role.registry_events.id
  policy = data.aws_iam_policy_document.registry_events.json
}

locals {
  # Approval status -> the execution input key the state machine routes on.
  registry_events = {
    approved = { status = "Approved", input_key = "approved_model_package_arn" }
    rejected = { status = "Rejected", input_key = "rejected_model_package_arn" }
  }
}

resource "aws_cloudwatch_event_rule" "model_package" {
  for_each    = local.registry_events
  name        = "${local.name}-model-package-${each.key}"
  description = "A package of ${local.model_package_group_name} was ${each.key}."

  event_pattern = jsonencode({
    source      = ["aws.sagemaker"]
    detail-type = ["SageMaker Model Package State Change"]
    detail = {
      ModelPackageGroupName = [local.model_package_group_name]
      ModelApprovalStatus   = [each.value.status]
    }
  })
}

resource "aws_cloudwatch_event_target" "model_package" {
  for_each  = local.registry_events
  rule      = aws_cloudwatch_event_rule.model_package[each.key].name
  target_id = "state-machine"
  arn       = aws_sfn_state_machine.this.arn
  role_arn  = aws_iam_role.registry_events.arn

  input_transformer {
    input_paths    = { arn = "$.detail.ModelPackageArn" }
    input_template = "{\"${each.value.input_key}\": <arn>}"
  }

  dead_letter_config {
    arn = aws_sqs_queue.trigger_dlq.arn
  }
}
