# ---------------------------------------------------------------------------------------------
# Step Functions: the orchestrating state machine (ASL generated with the stepfunctions SDK and
# completed here with templatefile()), with full execution logging and X-Ray tracing.
# ---------------------------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "state_machine" {
  #checkov:skip=CKV_AWS_158:Logs use CloudWatch's default encryption; a CMK per log group adds cost without a stated need.
  #checkov:skip=CKV_AWS_338:Retention is a variable (log_retention_days); a one-year floor is not required for this project.
  # The /aws/vendedlogs/ prefix keeps the log resource policy Step Functions writes small.
  name              = "/aws/vendedlogs/states/${local.state_machine_name}"
  retention_in_days = var.log_retention_days
}

resource "aws_sfn_state_machine" "this" {
  name     = local.state_machine_name
  type     = "STANDARD"
  role_arn = aws_iam_role.state_machine.arn

  definition = templatefile("${path.module}/../statemachines/training_pipeline.asl.json", local.state_machine_template_vars)

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.state_machine.arn}:*"
    include_execution_data = true
    level                  = "ALL"
  }

  tracing_configuration {
    enabled = true
  }

  # Step Functions checks the role's permissions (log delivery) when the machine is created.
  depends_on = [aws_iam_role_policy.state_machine]
}
