# ---------------------------------------------------------------------------------------------
# Outputs: identifiers, console links and ready-to-paste commands.
# ---------------------------------------------------------------------------------------------

# ---- Storage ---------------------------------------------------------------------------------

output "bucket_name" {
  description = "Project bucket (data/raw/ uploads start a run when auto-trigger is on)."
  value       = local.bucket_name
}

output "bucket_data_uri" {
  description = "Default training data location baked into every execution."
  value       = local.execution_defaults.data_uri
}

# ---- Orchestration ---------------------------------------------------------------------------

output "state_machine_arn" {
  description = "ARN of the training state machine."
  value       = aws_sfn_state_machine.this.arn
}

output "state_machine_console_url" {
  description = "Step Functions console page of the state machine."
  value       = "${local.console}/states/home?region=${local.region}#/statemachines/view/${aws_sfn_state_machine.this.arn}"
}

output "state_machine_start_command" {
  description = "Starts a run with the baked-in defaults (add keys to --input to override them)."
  value       = "aws stepfunctions start-execution --region ${local.region} --state-machine-arn ${aws_sfn_state_machine.this.arn} --name manual-$(date +%Y%m%d%H%M%S) --input '{}'"
}

output "pipeline_arn" {
  description = "ARN of the SageMaker pipeline."
  value       = aws_sagemaker_pipeline.this.arn
}

output "pipeline_console_url" {
  description = "SageMaker console page of the pipeline."
  value       = "${local.console}/sagemaker/home?region=${local.region}#/pipelines/${local.pipeline_name}"
}

output "sagemaker_role_arn" {
  description = "Execution role of the pipeline, its jobs and the endpoint."
  value       = local.sagemaker_role_arn
}

# ---- Model Registry and endpoint -------------------------------------------------------------

output "model_package_group_name" {
  description = "Model Registry group the state machine registers models in."
  value       = aws_sagemaker_model_package_group.this.model_package_group_name
}

output "model_package_group_console_url" {
  description = "SageMaker console page of the model registry group."
  value       = "${local.console}/sagemaker/home?region=${local.region}#/model-registry/${local.model_package_group_name}"
}

output "model_package_group_list_command" {
  description = "Lists the group's model packages, newest first, with their approval status."
  value       = "aws sagemaker list-model-packages --region ${local.region} --model-package-group-name ${local.model_package_group_name} --sort-by CreationTime --sort-order Descending --query 'ModelPackageSummaryList[].[ModelPackageArn,ModelApprovalStatus]' --output table"
}

output "model_package_approve_latest_command" {
  description = "Approves the newest model package of the group (a run with deploy then deploys it)."
  value       = "aws sagemaker update-model-package --region ${local.region} --model-approval-status Approved --model-package-arn \"$(aws sagemaker list-model-packages --region ${local.region} --model-package-group-name ${local.model_package_group_name} --sort-by CreationTime --sort-order Descending --max-results 1 --query 'ModelPackageSummaryList[0].ModelPackageArn' --output text)\""
}

output "endpoint_name" {
  description = "Endpoint the state machine creates or updates when a run deploys."
  value       = local.endpoint_name
}

output "endpoint_invoke_command" {
  description = "Sends ROW, one CSV row of the served model's features in its dataset contract's order, and prints one probability per class (in the contract's class order; `make predict` names them and picks a test row from the model's evaluation report)."
  value       = "aws sagemaker-runtime invoke-endpoint --region ${local.region} --endpoint-name ${local.endpoint_name} --content-type text/csv --body \"$ROW\" --cli-binary-format raw-in-base64-out /dev/stdout"
}

# ---- Trigger, notifications, monitoring ------------------------------------------------------

output "trigger_function_arn" {
  description = "ARN of the S3-upload trigger Lambda."
  value       = module.trigger.function_arn
}

output "trigger_function_console_url" {
  description = "Lambda console page of the trigger."
  value       = "${local.console}/lambda/home?region=${local.region}#/functions/${local.trigger_name}"
}

output "trigger_dlq_url" {
  description = "Dead-letter queue of events the trigger could not process."
  value       = aws_sqs_queue.trigger_dlq.url
}

output "trigger_queue_url" {
  description = "SQS FIFO queue of uploads waiting for their run (make status shows its depth)."
  value       = aws_sqs_queue.trigger_queue.url
}

output "trigger_queue_dlq_url" {
  description = "Dead-letter queue of uploads the trigger gave up on."
  value       = aws_sqs_queue.trigger_queue_dlq.url
}

output "notification_topic_arn" {
  description = "SNS topic receiving run results, failure events and alarms."
  value       = aws_sns_topic.notifications.arn
}

output "alarms_console_url" {
  description = "CloudWatch console filtered to this project's alarms."
  value       = "${local.console}/cloudwatch/home?region=${local.region}#alarmsV2:?search=${local.name}-"
}

output "alarm_names" {
  description = "Names of the CloudWatch alarms that notify the topic."
  value = concat(
    [aws_cloudwatch_metric_alarm.executions_failed.alarm_name, aws_cloudwatch_metric_alarm.trigger_dead_letters.alarm_name],
    [for alarm in aws_cloudwatch_metric_alarm.endpoint : alarm.alarm_name],
  )
}
