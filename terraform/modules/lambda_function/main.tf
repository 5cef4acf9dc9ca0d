# ---------------------------------------------------------------------------------------------
# One Lambda function: its log group, its role (trusting lambda.amazonaws.com only), the role's
# inline policy (the caller's statements, plus writing its own logs and using the key it is
# granted) and the function, created only once its role may write its logs and do its work.
# ---------------------------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_158:Logs use CloudWatch's default encryption; a CMK per log group adds cost without a stated need.
  #checkov:skip=CKV_AWS_338:Retention is a variable (log_retention_days); a one-year floor is not required for this project.
  name              = "/aws/lambda/${var.name}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = var.name
  description        = var.role_description
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "this" {
  source_policy_documents = var.policy_json == null ? [] : [var.policy_json]

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  dynamic "statement" {
    for_each = var.key_grant == null ? [] : [var.key_grant]

    content {
      sid       = "UseTheKey"
      actions   = statement.value.actions
      resources = [statement.value.key_arn]
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = var.policy_name
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_117:The functions call only AWS APIs over their public endpoints (or none at all); a VPC would add NAT or endpoints for no isolation gain.
  #checkov:skip=CKV_AWS_173:The environment holds no secrets (ARNs, a prefix, a log level, or nothing); a CMK adds nothing.
  #checkov:skip=CKV_AWS_272:Code signing needs a Signer profile; the zip is built and hashed by make in CI.
  #checkov:skip=CKV_AWS_115:Reserving concurrency fails on a new account (quota 10, 10 kept unreserved); the trigger's FIFO queue serialises runs instead.
  #checkov:skip=CKV_AWS_116:Every invocation is synchronous (the state machine, which retries and reports failures, or the SQS event source mapping, whose queue has its own dead-letter queue); a function's dead-letter queue serves asynchronous invocations only.
  #checkov:skip=CKV_AWS_50:Tracing is each caller's choice (tracing_mode): the trigger traces; the validator answers from its input alone and the smoke test makes one S3 read and one invocation.
  function_name    = var.name
  description      = var.description
  role             = aws_iam_role.this.arn
  filename         = var.filename
  source_code_hash = var.source_code_hash
  handler          = var.handler
  runtime          = var.runtime
  timeout          = var.timeout
  memory_size      = var.memory_size
  tags             = var.tags

  dynamic "environment" {
    for_each = length(var.environment_variables) == 0 ? [] : [var.environment_variables]

    content {
      variables = environment.value
    }
  }

  dynamic "tracing_config" {
    for_each = var.tracing_mode == null ? [] : [var.tracing_mode]

    content {
      mode = tracing_config.value
    }
  }

  # The function never runs before its log group exists and its role may act.
  depends_on = [aws_cloudwatch_log_group.this, aws_iam_role_policy.this]
}
