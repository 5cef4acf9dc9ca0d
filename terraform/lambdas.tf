# ---------------------------------------------------------------------------------------------
# The state machines' functions (lambdas/<name>/, built by make into build/<name>.zip, each with
# the contracts package beside its handler): where Python normalizes and the ASL orchestrates.
# One module instance each: log group, role, policy, function (modules/lambda_function).
# ---------------------------------------------------------------------------------------------

locals {
  input_validator_name  = "${local.name}-input-check"
  snapshot_name         = "${local.name}-snapshot"
  pipeline_outcome_name = "${local.name}-pipeline-outcome"
  deployment_plan_name  = "${local.name}-deployment-plan"
  notify_name           = "${local.name}-notify"
  smoke_test_name       = "${local.name}-smoke-test"
  monitor_plan_name     = "${local.name}-monitor-plan"
  monitor_outcome_name  = "${local.name}-monitor-outcome"
  # The input prefixes a run may read (contracts/s3_layout.py INPUT_PREFIXES).
  input_object_arns = [for prefix in local.s3_input_prefixes : "${local.bucket_arn}/${prefix}*"]
  # Rollback alarms are created per deployment, named <endpoint>-rollback-<config>-<suffix>.
  deployment_alarm_arns = ["arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${local.endpoint_name}-rollback-*"]
  # An S3 object under a CMK needs kms:Decrypt to be read and kms:GenerateDataKey to be written.
  bucket_kms_statements = var.kms_key_arn == "" ? [] : [var.kms_key_arn]
}

# ---- CheckInput: the execution input, the data location, the champion -------------------------

data "aws_iam_policy_document" "input_validator" {
  statement {
    sid = "PinTheInputVersion"
    # HeadObject needs s3:GetObject, and s3:GetObjectVersion when a version is named.
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = local.input_object_arns
  }

  statement {
    sid = "FindTheChampion"
    # The package the endpoint serves, through its config and model.
    actions = [
      "sagemaker:DescribeEndpoint",
      "sagemaker:DescribeEndpointConfig",
      "sagemaker:DescribeModel",
      "sagemaker:DescribeModelPackage",
    ]
    resources = [
      "${local.sagemaker_arn_prefix}:endpoint/${local.endpoint_name}",
      "${local.sagemaker_arn_prefix}:endpoint-config/${local.model_name_prefix}-*",
      "${local.sagemaker_arn_prefix}:model/${local.model_name_prefix}-*",
      "${local.sagemaker_arn_prefix}:model-package/${local.model_package_group_name}/*",
    ]
  }

  dynamic "statement" {
    for_each = local.bucket_kms_statements

    content {
      sid       = "DecryptBucketObjects"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
    }
  }
}

module "input_validator" {
  source = "./modules/lambda_function"

  name             = local.input_validator_name
  description      = "Checks a training run's input, pins its data version and finds the serving model."
  role_description = "Role of the ${local.input_validator_name} Lambda: reads the input object's head, the serving package."
  policy_name      = "input-check"
  policy_json      = data.aws_iam_policy_document.input_validator.json
  filename         = "${local.build_dir}/input_validator.zip"
  source_code_hash = filebase64sha256("${local.build_dir}/input_validator.zip")
  timeout          = 30

  environment_variables = {
    BUCKET               = local.bucket_name
    DEFAULTS_JSON        = jsonencode(local.execution_defaults)
    AUTO_APPROVE_ALLOWED = var.allow_auto_approve ? "true" : "false"
    ENDPOINT_NAME        = local.endpoint_name
    NO_CHAMPION_URI      = "s3://${local.bucket_name}/${dirname(aws_s3_object.no_champion.key)}/"
  }
  log_retention_days = var.log_retention_days
}

# ---- Snapshot: the pinned object version into runs/<execution>/input/ ---------------------------

data "aws_iam_policy_document" "snapshot" {
  statement {
    sid       = "ReadTheInput"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = local.input_object_arns
  }

  statement {
    sid = "WriteTheRunsCopy"
    # PutObject covers CopyObject's and the multipart copy's writes (CreateMultipartUpload,
    # UploadPartCopy, CompleteMultipartUpload); AbortMultipartUpload cleans a failed one.
    actions   = ["s3:PutObject", "s3:AbortMultipartUpload"]
    resources = ["${local.bucket_arn}/${local.s3_prefix.runs}*"]
  }

  dynamic "statement" {
    for_each = local.bucket_kms_statements

    content {
      sid       = "UseBucketKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]
    }
  }
}

module "snapshot" {
  source = "./modules/lambda_function"

  name             = local.snapshot_name
  description      = "Copies a training run's pinned input version into the run's own prefix."
  role_description = "Role of the ${local.snapshot_name} Lambda: reads inputs, writes runs/."
  policy_name      = "snapshot"
  policy_json      = data.aws_iam_policy_document.snapshot.json
  filename         = "${local.build_dir}/snapshot.zip"
  source_code_hash = filebase64sha256("${local.build_dir}/snapshot.zip")
  # A server-side multipart copy of a large input takes minutes.
  timeout            = 900
  memory_size        = 256
  log_retention_days = var.log_retention_days
}

# ---- PipelineOutcome: the summary of a finished pipeline, or why it failed ----------------------

data "aws_iam_policy_document" "pipeline_outcome" {
  statement {
    sid       = "ReadTheExecution"
    actions   = ["sagemaker:DescribePipelineExecution", "sagemaker:ListPipelineExecutionSteps"]
    resources = ["${aws_sagemaker_pipeline.this.arn}/execution/*"]
  }

  statement {
    sid = "ReadTheJobs"
    # The evaluation step's output location and the data step's ExitMessage. Job names are
    # generated by SageMaker Pipelines per execution.
    actions   = ["sagemaker:DescribeProcessingJob"]
    resources = ["${local.sagemaker_arn_prefix}:processing-job/*"]
  }

  statement {
    sid       = "ReadTheSummary"
    actions   = ["s3:GetObject"]
    resources = ["${local.bucket_arn}/${local.s3_prefix.evaluation}*"]
  }

  dynamic "statement" {
    for_each = local.bucket_kms_statements

    content {
      sid       = "DecryptBucketObjects"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
    }
  }
}

module "pipeline_outcome" {
  source = "./modules/lambda_function"

  name               = local.pipeline_outcome_name
  description        = "Reads a finished pipeline execution: its bounded summary, or why it failed."
  role_description   = "Role of the ${local.pipeline_outcome_name} Lambda: reads pipeline steps, jobs and summaries."
  policy_name        = "pipeline-outcome"
  policy_json        = data.aws_iam_policy_document.pipeline_outcome.json
  filename           = "${local.build_dir}/pipeline_outcome.zip"
  source_code_hash   = filebase64sha256("${local.build_dir}/pipeline_outcome.zip")
  timeout            = 60
  log_retention_days = var.log_retention_days
}

# ---- Plan: governance, the endpoint's status, every request body of a deployment ---------------

data "aws_iam_policy_document" "deployment_plan" {
  statement {
    sid = "ReadThePackageAndTheEndpoint"
    actions = [
      "sagemaker:DescribeModelPackage",
      "sagemaker:DescribeEndpoint",
      "sagemaker:DescribeEndpointConfig",
      "sagemaker:DescribeModel",
    ]
    resources = [
      "${local.sagemaker_arn_prefix}:model-package/${local.model_package_group_name}/*",
      "${local.sagemaker_arn_prefix}:endpoint/${local.endpoint_name}",
      "${local.sagemaker_arn_prefix}:endpoint-config/${local.model_name_prefix}-*",
      "${local.sagemaker_arn_prefix}:model/${local.model_name_prefix}-*",
    ]
  }

  statement {
    sid       = "CreateTheNewFleetsRollbackAlarms"
    actions   = ["cloudwatch:PutMetricAlarm"]
    resources = local.deployment_alarm_arns
  }
}

module "deployment_plan" {
  source = "./modules/lambda_function"

  name               = local.deployment_plan_name
  description        = "Plans one deployment of ${local.endpoint_name}: governance, the endpoint's status, the request bodies."
  role_description   = "Role of the ${local.deployment_plan_name} Lambda: reads packages and the endpoint, creates rollback alarms."
  policy_name        = "deployment-plan"
  policy_json        = data.aws_iam_policy_document.deployment_plan.json
  filename           = "${local.build_dir}/deployment_plan.zip"
  source_code_hash   = filebase64sha256("${local.build_dir}/deployment_plan.zip")
  timeout            = 30
  log_retention_days = var.log_retention_days

  environment_variables = {
    ENDPOINT_NAME         = local.endpoint_name
    MODEL_PACKAGE_GROUP   = local.model_package_group_name
    MODEL_NAME_PREFIX     = local.model_name_prefix
    VARIANT_NAME          = var.endpoint_variant_name
    INSTANCE_TYPE         = var.endpoint_instance_type
    INSTANCE_COUNT        = tostring(var.endpoint_instance_count)
    CAPTURE_PERCENT       = tostring(var.data_capture_percent)
    CAPTURE_DESTINATION   = "s3://${local.bucket_name}/${trimsuffix(local.s3_prefix.data_capture, "/")}"
    GUARDRAILS_JSON       = jsonencode(local.deployment_guardrails)
    POLL_INTERVAL_SECONDS = tostring(var.endpoint_poll_interval_seconds)
    MAX_POLLS             = tostring(var.endpoint_max_polls)
  }
}

# ---- Finish: record a deployment attempt, clean its alarms up, notify --------------------------

data "aws_iam_policy_document" "notify" {
  statement {
    sid       = "Notify"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.notifications.arn]
  }

  statement {
    sid       = "EncryptNotifications"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [local.sns_kms_key_arn]
  }

  statement {
    sid     = "RecordAttemptsAndFailureReports"
    actions = ["s3:PutObject"]
    resources = [
      "${local.bucket_arn}/${local.s3_prefix.deployments}*",
      "${local.bucket_arn}/${local.s3_prefix.reports}*",
    ]
  }

  statement {
    sid       = "NameAndCleanUpTheRollbackAlarms"
    actions   = ["cloudwatch:DescribeAlarms", "cloudwatch:DeleteAlarms"]
    resources = local.deployment_alarm_arns
  }

  dynamic "statement" {
    for_each = local.bucket_kms_statements

    content {
      sid       = "EncryptRecords"
      actions   = ["kms:GenerateDataKey"]
      resources = [statement.value]
    }
  }
}

module "notify" {
  source = "./modules/lambda_function"

  name               = local.notify_name
  description        = "Records, reports and notifies the outcome of every state machine execution."
  role_description   = "Role of the ${local.notify_name} Lambda: publishes to the topic, writes records."
  policy_name        = "notify"
  policy_json        = data.aws_iam_policy_document.notify.json
  filename           = "${local.build_dir}/notify.zip"
  source_code_hash   = filebase64sha256("${local.build_dir}/notify.zip")
  timeout            = 30
  log_retention_days = var.log_retention_days

  environment_variables = {
    TOPIC_ARN = aws_sns_topic.notifications.arn
    BUCKET    = local.bucket_name
  }
}

# ---- SmokeTest: the evaluation's rows against the endpoint -------------------------------------

data "aws_iam_policy_document" "smoke_test" {
  statement {
    sid       = "ReadEvaluationReports"
    actions   = ["s3:GetObject"]
    resources = ["${local.bucket_arn}/${local.s3_prefix.evaluation}*"]
  }

  statement {
    sid       = "InvokeTheEndpoint"
    actions   = ["sagemaker:InvokeEndpoint"]
    resources = ["${local.sagemaker_arn_prefix}:endpoint/${local.endpoint_name}"]
  }

  dynamic "statement" {
    for_each = local.bucket_kms_statements

    content {
      sid       = "DecryptEvaluationReports"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
    }
  }
}

module "smoke_test" {
  source = "./modules/lambda_function"

  name             = local.smoke_test_name
  description      = "Smoke-tests ${local.endpoint_name} after a deployment, against the evaluation's predictions."
  role_description = "Role of the ${local.smoke_test_name} Lambda: reads evaluation reports, invokes the endpoint."
  policy_name      = "smoke-test"
  policy_json      = data.aws_iam_policy_document.smoke_test.json
  filename         = "${local.build_dir}/smoke_test.zip"
  source_code_hash = filebase64sha256("${local.build_dir}/smoke_test.zip")
  # A cold endpoint container may take a while to answer its first request.
  timeout            = 120
  log_retention_days = var.log_retention_days
}

# ---- Monitoring: Plan (what to compare) and ReadDrift (the verdict, its metrics, retraining) ---

data "aws_iam_policy_document" "monitor_plan" {
  statement {
    sid = "FindTheServingPackage"
    # The package the endpoint serves, through its config and model.
    actions = [
      "sagemaker:DescribeEndpoint",
      "sagemaker:DescribeEndpointConfig",
      "sagemaker:DescribeModel",
      "sagemaker:DescribeModelPackage",
    ]
    resources = [
      "${local.sagemaker_arn_prefix}:endpoint/${local.endpoint_name}",
      "${local.sagemaker_arn_prefix}:endpoint-config/${local.model_name_prefix}-*",
      "${local.sagemaker_arn_prefix}:model/${local.model_name_prefix}-*",
      "${local.sagemaker_arn_prefix}:model-package/${local.model_package_group_name}/*",
    ]
  }

  statement {
    sid       = "ReadTheEvaluationsContract"
    actions   = ["s3:GetObject"]
    resources = ["${local.bucket_arn}/${local.s3_prefix.evaluation}*"]
  }

  statement {
    sid = "ListTheWindowsCapture"
    # ListObjectsV2 of data-capture/<endpoint>/<variant>/yyyy/mm/dd/hh/ (s3:ListBucket).
    actions   = ["s3:ListBucket"]
    resources = [local.bucket_arn]
  }

  statement {
    sid       = "WriteTheJobsManifestAndContract"
    actions   = ["s3:PutObject"]
    resources = ["${local.bucket_arn}/${local.s3_prefix.monitoring}*"]
  }

  dynamic "statement" {
    for_each = local.bucket_kms_statements

    content {
      sid       = "UseBucketKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]
    }
  }
}

module "monitor_plan" {
  source = "./modules/lambda_function"

  name               = local.monitor_plan_name
  description        = "Plans a drift run of ${local.endpoint_name}: the serving package, its baseline, the window's captured traffic."
  role_description   = "Role of the ${local.monitor_plan_name} Lambda: reads the serving package and the capture, writes the job's inputs."
  policy_name        = "monitor-plan"
  policy_json        = data.aws_iam_policy_document.monitor_plan.json
  filename           = "${local.build_dir}/monitor_plan.zip"
  source_code_hash   = filebase64sha256("${local.build_dir}/monitor_plan.zip")
  timeout            = 60
  log_retention_days = var.log_retention_days

  environment_variables = {
    ENDPOINT_NAME         = local.endpoint_name
    BUCKET                = local.bucket_name
    MONITOR_CODE_URI      = local.code_bundle_uris["monitor"]
    WINDOW_MINUTES        = tostring(var.monitoring_window_minutes)
    MIN_ROWS              = tostring(var.monitoring_min_rows)
    POLL_INTERVAL_SECONDS = tostring(var.pipeline_poll_interval_seconds)
    MAX_POLLS             = tostring(var.pipeline_max_polls)
  }
}

data "aws_iam_policy_document" "monitor_outcome" {
  statement {
    sid       = "ReadTheEndedJob"
    actions   = ["sagemaker:DescribeProcessingJob"]
    resources = ["${local.sagemaker_arn_prefix}:processing-job/drift-*"]
  }

  statement {
    sid       = "ReadTheDriftReport"
    actions   = ["s3:GetObject"]
    resources = ["${local.bucket_arn}/${local.s3_prefix.monitoring}*"]
  }

  statement {
    sid = "PublishDriftMetrics"
    # cloudwatch:PutMetricData has no resource-level permissions: AWS requires Resource "*";
    # the namespace condition limits it to the drift metrics.
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = [local.drift_metric_namespace]
    }
  }

  statement {
    sid       = "RequestOneRetraining"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.request["uploads"].arn]
  }

  dynamic "statement" {
    for_each = local.bucket_kms_statements

    content {
      sid       = "DecryptBucketObjects"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
    }
  }
}

module "monitor_outcome" {
  source = "./modules/lambda_function"

  name               = local.monitor_outcome_name
  description        = "Reads a drift job of ${local.endpoint_name}: publishes its metrics, requests a retraining on drift when asked."
  role_description   = "Role of the ${local.monitor_outcome_name} Lambda: reads drift reports, publishes drift metrics, sends a training request."
  policy_name        = "monitor-outcome"
  policy_json        = data.aws_iam_policy_document.monitor_outcome.json
  filename           = "${local.build_dir}/monitor_outcome.zip"
  source_code_hash   = filebase64sha256("${local.build_dir}/monitor_outcome.zip")
  timeout            = 60
  log_retention_days = var.log_retention_days

  environment_variables = {
    METRIC_NAMESPACE  = local.drift_metric_namespace
    RETRAIN_ON_DRIFT  = var.retrain_on_drift ? "true" : "false"
    RETRAIN_DATA_URI  = local.retrain_data_uri
    UPLOADS_QUEUE_URL = aws_sqs_queue.request["uploads"].url
  }
}
