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

output "stack_region" {
  description = "Region of the stack (the ops CLI targets it when AWS_REGION is not set)."
  value       = local.region
}

output "training_state_machine_arn" {
  description = "ARN of the training state machine (make start sends it training requests through the uploads queue)."
  value       = aws_sfn_state_machine.this["training"].arn
}

output "deployment_state_machine_arn" {
  description = "ARN of the deployment state machine (approvals reach it through the deployments queue)."
  value       = aws_sfn_state_machine.this["deployment"].arn
}

output "monitoring_state_machine_arn" {
  description = "ARN of the monitoring state machine (its schedule starts it; make monitor starts a run now with {} or {\"end\", \"window_minutes\"})."
  value       = aws_sfn_state_machine.this["monitoring"].arn
}

output "monitoring_schedule_name" {
  description = "Name of the EventBridge Scheduler schedule that starts the monitoring machine."
  value       = aws_scheduler_schedule.monitoring.name
}

output "state_machine_console_urls" {
  description = "Step Functions console pages of the machines."
  value       = { for key, machine in aws_sfn_state_machine.this : key => "${local.console}/states/home?region=${local.region}#/statemachines/view/${machine.arn}" }
}

output "uploads_queue_url" {
  description = "SQS FIFO queue of uploads and training requests waiting for their run (make start sends here)."
  value       = aws_sqs_queue.request["uploads"].url
}

output "deployments_queue_url" {
  description = "SQS FIFO queue of approvals and deployment requests waiting for their deployment (make approve of an Approved package and make rollback send here)."
  value       = aws_sqs_queue.request["deployments"].url
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
  description = "Approves the newest model package of the group (the approval deploys it)."
  value       = "aws sagemaker update-model-package --region ${local.region} --model-approval-status Approved --model-package-arn \"$(aws sagemaker list-model-packages --region ${local.region} --model-package-group-name ${local.model_package_group_name} --sort-by CreationTime --sort-order Descending --max-results 1 --query 'ModelPackageSummaryList[0].ModelPackageArn' --output text)\""
}

output "endpoint_name" {
  description = "Endpoint the state machine creates or updates when a run deploys."
  value       = local.endpoint_name
}

output "model_name_prefix" {
  description = "Prefix of the models and endpoint configs the deployment machine creates (<prefix>-v<version>-<hash>): make destroy deletes those."
  value       = local.model_name_prefix
}

output "auto_approve_allowed" {
  description = "Whether a run may register its package Approved (allow_auto_approve): make start DEPLOY=1 says so before it starts."
  value       = var.allow_auto_approve
}

output "endpoint_invoke_command" {
  description = "Sends ROW, one CSV row of the served model's features in its dataset contract's order, and prints one probability per class (in the contract's class order; `make predict` names them and picks a test row from the model's evaluation report)."
  value       = "aws sagemaker-runtime invoke-endpoint --region ${local.region} --endpoint-name ${local.endpoint_name} --content-type text/csv --body \"$ROW\" --cli-binary-format raw-in-base64-out /dev/stdout"
}

# ---- Trigger, notifications, monitoring ------------------------------------------------------

output "trigger_function_arns" {
  description = "ARNs of the trigger Lambdas, by queue (uploads, deployments)."
  value       = { for key, trigger in module.trigger : key => trigger.function_arn }
}

output "trigger_dlq_url" {
  description = "Dead-letter queue of events EventBridge could not deliver to a request queue."
  value       = aws_sqs_queue.trigger_dlq.url
}

output "request_dlq_urls" {
  description = "Dead-letter queues of requests the triggers gave up on, by queue."
  value       = { for key, queue in aws_sqs_queue.request_dlq : key => queue.url }
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
  value       = [for alarm in aws_cloudwatch_metric_alarm.this : alarm.alarm_name]
}
