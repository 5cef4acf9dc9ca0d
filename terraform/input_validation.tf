# ---------------------------------------------------------------------------------------------
# Execution-input validator: the state machine's first Task (lambdas/input_validator)
# ---------------------------------------------------------------------------------------------
# The schema of the execution input has one home, contracts/execution_input.json, shipped
# in the zip beside the code. The function needs no AWS access: its role may only write its logs.
# The state machine passes it the bucket, Terraform's defaults and the execution name.

locals {
  input_validator_name = "${local.name}-input-validator"
}

resource "aws_cloudwatch_log_group" "input_validator" {
  #checkov:skip=CKV_AWS_158:Logs use CloudWatch's default encryption; a CMK per log group adds cost without a stated need.
  #checkov:skip=CKV_AWS_338:Retention is a variable (log_retention_days); a one-year floor is not required for this project.
  name              = "/aws/lambda/${local.input_validator_name}"
  retention_in_days = var.log_retention_days
}

data "aws_iam_policy_document" "input_validator_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "input_validator" {
  name               = local.input_validator_name
  description        = "Role of the ${local.input_validator_name} Lambda (logs only)."
  assume_role_policy = data.aws_iam_policy_document.input_validator_assume.json
}

data "aws_iam_policy_document" "input_validator" {
  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.input_validator.arn}:*"]
  }
}

resource "aws_iam_role_policy" "input_validator" {
  name   = "write-own-logs"
  role   = aws_iam_role.input_validator.id
  policy = data.aws_iam_policy_document.input_validator.json
}

resource "aws_lambda_function" "input_validator" {
  #checkov:skip=CKV_AWS_117:The function calls no AWS API at all; a VPC adds nothing.
  #checkov:skip=CKV_AWS_173:No environment variables.
  #checkov:skip=CKV_AWS_272:Code signing needs a Signer profile; the zip is built and hashed by make in CI.
  #checkov:skip=CKV_AWS_115:Reserving concurrency fails on a new account (quota 10, 10 kept unreserved).
  #checkov:skip=CKV_AWS_116:Invoked synchronously by the state machine only, which retries and reports failures; no dead-letter queue applies.
  #checkov:skip=CKV_AWS_50:The function answers from its input alone in milliseconds; tracing adds no insight.
  function_name    = local.input_validator_name
  description      = "Checks ${local.state_machine_name}'s execution input against its schema."
  role             = aws_iam_role.input_validator.arn
  filename         = "${local.build_dir}/input_validator.zip"
  source_code_hash = filebase64sha256("${local.build_dir}/input_validator.zip")
  handler          = "handler.lambda_handler"
  runtime          = "python3.12"
  timeout          = 10
  memory_size      = 128

  depends_on = [aws_cloudwatch_log_group.input_validator, aws_iam_role_policy.input_validator]
}
