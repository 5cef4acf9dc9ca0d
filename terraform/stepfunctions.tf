# ---------------------------------------------------------------------------------------------
# Step Functions: the training, deployment and monitoring machines (ASL generated with the Step
# Functions Data Science SDK into statemachines/<machine>.asl.json and completed here with
# templatefile()), each with its own role, full execution logging and X-Ray tracing.
# ---------------------------------------------------------------------------------------------

locals {
  state_machines = {
    training = {
      name        = local.state_machine_name
      description = "training"
      template_vars = {
        input_validator_function_arn  = module.lambda["input_validator"].function_arn
        snapshot_function_arn         = module.lambda["snapshot"].function_arn
        pipeline_outcome_function_arn = module.lambda["pipeline_outcome"].function_arn
        notify_function_arn           = module.lambda["notify"].function_arn
        pipeline_name                 = aws_sagemaker_pipeline.this.pipeline_name
        model_package_group_name      = aws_sagemaker_model_package_group.this.model_package_group_name
        xgboost_image_uri             = data.aws_sagemaker_prebuilt_ecr_image.xgboost.registry_path
      }
    }
    deployment = {
      name        = local.deployment_machine_name
      description = "deployment"
      template_vars = {
        deployment_plan_function_arn = module.lambda["deployment_plan"].function_arn
        smoke_test_function_arn      = module.lambda["smoke_test"].function_arn
        notify_function_arn          = module.lambda["notify"].function_arn
        sagemaker_role_arn           = local.sagemaker_role_arn
      }
    }
    monitoring = {
      name        = local.monitoring_machine_name
      description = "monitoring"
      template_vars = {
        monitor_plan_function_arn    = module.lambda["monitor_plan"].function_arn
        monitor_outcome_function_arn = module.lambda["monitor_outcome"].function_arn
        notify_function_arn          = module.lambda["notify"].function_arn
        sagemaker_role_arn           = local.sagemaker_role_arn
        sklearn_image_uri            = data.aws_sagemaker_prebuilt_ecr_image.sklearn.registry_path
        monitoring_instance_type     = var.monitoring_instance_type
      }
    }
  }
}

resource "aws_cloudwatch_log_group" "state_machine" {
  for_each = local.state_machines

  #checkov:skip=CKV_AWS_158:Logs use CloudWatch's default encryption; a CMK per log group adds cost without a stated need.
  #checkov:skip=CKV_AWS_338:Retention is a variable (log_retention_days); a one-year floor is not required for this project.
  # The /aws/vendedlogs/ prefix keeps the log resource policy Step Functions writes small.
  name              = "/aws/vendedlogs/states/${each.value.name}"
  retention_in_days = var.log_retention_days
}

resource "aws_sfn_state_machine" "this" {
  for_each = local.state_machines

  name     = each.value.name
  type     = "STANDARD"
  role_arn = aws_iam_role.state_machine[each.key].arn

  definition = templatefile("${path.module}/../statemachines/${each.key}.asl.json", each.value.template_vars)

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.state_machine[each.key].arn}:*"
    include_execution_data = true
    level                  = "ALL"
  }

  tracing_configuration {
    enabled = true
  }

  # Step Functions checks the role's permissions (log delivery) when the machine is created.
  depends_on = [aws_iam_role_policy.state_machine]
}
