# ---------------------------------------------------------------------------------------------
# Execution-input validator: the state machine's first Task (lambdas/input_validator)
# ---------------------------------------------------------------------------------------------
# The schema of the execution input has one home, contracts/execution_input.json, shipped
# in the zip beside the code. The function needs no AWS access: its role may only write its logs.
# The state machine passes it the bucket, Terraform's defaults and the execution name.

locals {
  input_validator_name = "${local.name}-input-validator"
}

module "input_validator" {
  source = "./modules/lambda_function"

  name               = local.input_validator_name
  description        = "Checks ${local.state_machine_name}'s execution input against its schema."
  role_description   = "Role of the ${local.input_validator_name} Lambda (logs only)."
  policy_name        = "write-own-logs"
  filename           = "${local.build_dir}/input_validator.zip"
  source_code_hash   = filebase64sha256("${local.build_dir}/input_validator.zip")
  timeout            = 10
  log_retention_days = var.log_retention_days
}
