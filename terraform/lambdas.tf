# ---------------------------------------------------------------------------------------------
# The state machines' functions (lambdas/<name>/, built by make into build/<name>.zip, each with
# the contracts package beside its handler): where Python normalizes and the ASL orchestrates.
# One map, one module call: each function's log group, role, policy and function
# (modules/lambda_function). The triggers (trigger.tf) are a second call of the same module:
# their environment names the state machines, whose definitions name these functions, and
# Terraform orders a module call as a whole, so one call for both would be a cycle.
# ---------------------------------------------------------------------------------------------

locals {
  # The input prefixes a run may read (contracts/s3_layout.py INPUT_PREFIXES).
  input_object_arns = [for prefix in local.s3_input_prefixes : "${local.bucket_arn}/${prefix}*"]
  # Rollback alarms are created per deployment, named <endpoint>-rollback-<config>-<suffix>.
  deployment_alarm_arns = ["arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${local.endpoint_name}-rollback-*"]

  # The package the endpoint serves, found through its config and model: the input check's
  # champion, the deployment plan's current package, the drift monitor's baseline, and whether
  # a rejected package is the one served (the deployments trigger).
  serving_package_lookup = {
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

  # Each function by its directory under lambdas/ (its zip is build/<key>.zip):
  #   name         "<project_name>-<name>", also its role's and its log group's, and the name of
  #                its role's inline policy;
  #   description  what the function does; role: what its role lets it do;
  #   policy       its statements (the documents below; the module adds writing its own logs);
  #   bucket_key   with a customer-managed bucket key (kms_key_arn), what it does with the key:
  #                an S3 object under a CMK needs kms:Decrypt to be read and kms:GenerateDataKey
  #                to be written; absent: it reads and writes no object;
  #   timeout, memory_size (default 128 MB), environment (absent: none).
  lambdas = {
    input_validator = {
      name        = "input-check"
      description = "Checks a training run's input, pins its data version and finds the serving model."
      role        = "reads the input object's head, the serving package"
      policy      = data.aws_iam_policy_document.input_validator.json
      bucket_key  = ["kms:Decrypt"]
      timeout     = 30
      environment = {
        BUCKET               = local.bucket_name
        DEFAULTS_JSON        = jsonencode(local.execution_defaults)
        AUTO_APPROVE_ALLOWED = var.allow_auto_approve ? "true" : "false"
        ENDPOINT_NAME        = local.endpoint_name
        NO_CHAMPION_URI      = "s3://${local.bucket_name}/${dirname(aws_s3_object.no_champion.key)}/"
      }
    }
    snapshot = {
      name        = "snapshot"
      description = "Copies a training run's pinned input version into the run's own prefix."
      role        = "reads inputs, writes runs/"
      policy      = data.aws_iam_policy_document.snapshot.json
      bucket_key  = ["kms:Decrypt", "kms:GenerateDataKey"]
      # A server-side multipart copy of a large input takes minutes.
      timeout     = 900
      memory_size = 256
    }
    pipeline_outcome = {
      name        = "pipeline-outcome"
      description = "Reads a finished pipeline execution: its bounded summary, or why it failed."
      role        = "reads pipeline steps, jobs and summaries"
      policy      = data.aws_iam_policy_document.pipeline_outcome.json
      bucket_key  = ["kms:Decrypt"]
      timeout     = 60
    }
    deployment_plan = {
      name        = "deployment-plan"
      description = "Plans one deployment of ${local.endpoint_name}: governance, the endpoint's status, the request bodies."
      role        = "reads packages and the endpoint, creates rollback alarms"
      policy      = data.aws_iam_policy_document.deployment_plan.json
      timeout     = 30
      environment = {
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
    notify = {
      name        = "notify"
      description = "Records, reports and notifies the outcome of every state machine execution."
      role        = "publishes to the topic, writes records"
      policy      = data.aws_iam_policy_document.notify.json
      bucket_key  = ["kms:GenerateDataKey"]
      timeout     = 30
      environment = {
        TOPIC_ARN = aws_sns_topic.notifications.arn
        BUCKET    = local.bucket_name
      }
    }
    smoke_test = {
      name        = "smoke-test"
      description = "Smoke-tests ${local.endpoint_name} after a deployment, against the evaluation's predictions."
      role        = "reads evaluation reports, invokes the endpoint"
      policy      = data.aws_iam_policy_document.smoke_test.json
      bucket_key  = ["kms:Decrypt"]
      # A cold endpoint container may take a while to answer its first request.
      timeout = 120
    }
    monitor_plan = {
      name        = "monitor-plan"
      description = "Plans a drift run of ${local.endpoint_name}: the serving package, its baseline, the window's captured traffic."
      role        = "reads the serving package and the capture, writes the job's inputs"
      policy      = data.aws_iam_policy_document.monitor_plan.json
      bucket_key  = ["kms:Decrypt", "kms:GenerateDataKey"]
      timeout     = 60
      environment = {
        ENDPOINT_NAME         = local.endpoint_name
        BUCKET                = local.bucket_name
        MONITOR_CODE_URI      = local.code_bundle_uris["monitor"]
        WINDOW_MINUTES        = tostring(var.monitoring_window_minutes)
        MIN_ROWS              = tostring(var.monitoring_min_rows)
        POLL_INTERVAL_SECONDS = tostring(var.pipeline_poll_interval_seconds)
        MAX_POLLS             = tostring(var.pipeline_max_polls)
      }
    }
    monitor_outcome = {
      name        = "monitor-outcome"
      description = "Reads a drift job of ${local.endpoint_name}: publishes its metrics, requests a retraining on drift when asked."
      role        = "reads drift reports, publishes drift metrics, sends a training request"
      policy      = data.aws_iam_policy_document.monitor_outcome.json
      bucket_key  = ["kms:Decrypt"]
      timeout     = 60
      environment = {
        METRIC_NAMESPACE  = local.drift_metric_namespace
        RETRAIN_ON_DRIFT  = var.retrain_on_drift ? "true" : "false"
        RETRAIN_DATA_URI  = local.retrain_data_uri
        UPLOADS_QUEUE_URL = aws_sqs_queue.request["uploads"].url
      }
    }
  }
}

module "lambda" {
  source   = "./modules/lambda_function"
  for_each = local.lambdas

  name             = "${local.name}-${each.value.name}"
  description      = each.value.description
  role_description = "Role of the ${local.name}-${each.value.name} Lambda: ${each.value.role}."
  policy_name      = each.value.name
  policy_json      = each.value.policy
  # Absent from an entry: none (null); the module's key_grant takes null as "no statement".
  key_grant             = var.kms_key_arn == "" ? null : try({ key_arn = var.kms_key_arn, actions = each.value.bucket_key }, null)
  filename              = "${local.build_dir}/${each.key}.zip"
  source_code_hash      = filebase64sha256("${local.build_dir}/${each.key}.zip")
  timeout               = each.value.timeout
  memory_size           = try(each.value.memory_size, null)
  environment_variables = try(each.value.environment, {})
  log_retention_days    = var.log_retention_days
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
    sid       = "FindTheChampion"
    actions   = local.serving_package_lookup.actions
    resources = local.serving_package_lookup.resources
  }
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
}

# ---- Plan: governance, the endpoint's status, every request body of a deployment ---------------

data "aws_iam_policy_document" "deployment_plan" {
  statement {
    sid       = "ReadThePackageAndTheEndpoint"
    actions   = local.serving_package_lookup.actions
    resources = local.serving_package_lookup.resources
  }

  statement {
    sid       = "CreateTheNewFleetsRollbackAlarms"
    actions   = ["cloudwatch:PutMetricAlarm"]
    resources = local.deployment_alarm_arns
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
}

# ---- Monitoring: Plan (what to compare) and ReadDrift (the verdict, its metrics, retraining) ---

data "aws_iam_policy_document" "monitor_plan" {
  statement {
    sid       = "FindTheServingPackage"
    actions   = local.serving_package_lookup.actions
    resources = local.serving_package_lookup.resources
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
}
