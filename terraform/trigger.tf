# ---------------------------------------------------------------------------------------------
# Requests -> executions, one at a time, in order, none lost: two FIFO queues, each read by the
# trigger Lambda (lambdas/trigger; one code, REQUESTS says which queue) through an event source
# mapping with batch size 1.
#
#   uploads      S3 "Object Created" under data/raw/ (EventBridge) and the project's training
#                requests (make start, the drift monitor) -> the training machine; one group.
#   deployments  Model Registry approvals and rejections (EventBridge) and the project's
#                deployment requests (make approve, make rollback) -> the deployment machine;
#                one group per endpoint.
#
# - For a FIFO queue Lambda sends one batch per message group at a time, in order, and SQS does
#   not hand out the next message of a group while one is in flight ("Using Lambda with Amazon
#   SQS", https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html, and
#   https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/fifo-queue-lambda-behavior.html);
# - the handler keeps the message of the current execution in the queue until that execution
#   has ended (partial batch response + ChangeMessageVisibility), so it is the lock;
# - EventBridge cannot set a deduplication id, so each queue deduplicates by content, i.e. by the
#   event's id (the body is the whole event): a redelivered event is dropped as a duplicate; an
#   approval delivered twice with two ids maps to one execution name and deploys once.
# Events EventBridge cannot deliver go to the standard dead-letter queue; messages a trigger
# gives up on go to its queue's FIFO dead-letter queue.
# ---------------------------------------------------------------------------------------------

locals {
  trigger_timeout_seconds = 30
  # AWS requires the queue's visibility timeout to be at least the function's timeout and
  # recommends six times, so Lambda can retry a throttled batch
  # (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html).
  trigger_queue_visibility_seconds = 6 * local.trigger_timeout_seconds
  trigger_rule_arn                 = "arn:${local.partition}:events:${local.region}:${local.account_id}:rule/${local.trigger_name}"
  registry_rule_arns = [
    for key in keys(local.registry_events) : "arn:${local.partition}:events:${local.region}:${local.account_id}:rule/${local.name}-model-package-${key}"
  ]
  # Each queue's policy is set at CreateQueue (its `policy` argument), not by a separate
  # aws_sqs_queue_policy: the provider waits for every SQS attribute write to propagate (about
  # 30 s each), so a separate policy adds one wait per queue. It names its queue by ARN.
  trigger_dlq_name = "${local.trigger_name}-dlq"
  trigger_dlq_arn  = "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${local.trigger_dlq_name}"

  # A kept message comes back once per poll of the machine it waits for (at most every 5 s);
  # each return is one invocation. maxReceiveCount: only the head message of a group is ever
  # received, once per retry delay while the execution ahead of it goes on and again while its
  # own does: at most 2 * longest / retry + 10 (failed invocations), capped at SQS's 1000. When
  # the cap binds, a message may reach the dead-letter queue while its own execution still goes
  # on: that execution is not lost, and the next message still waits for it (ListExecutions).
  request_queues = {
    uploads = {
      name        = "${local.trigger_name}-uploads.fifo"
      dlq_name    = "${local.trigger_name}-uploads-dlq.fifo"
      function    = local.trigger_name
      machine     = "training"
      description = "Starts ${local.state_machine_name} for queued uploads and training requests, one run at a time."
      retry       = max(var.pipeline_poll_interval_seconds, 5)
      longest     = var.pipeline_max_polls * var.pipeline_poll_interval_seconds
      senders     = [local.trigger_rule_arn]
    }
    deployments = {
      name        = "${local.name}-deployments.fifo"
      dlq_name    = "${local.name}-deployments-dlq.fifo"
      function    = "${local.name}-deployment-trigger"
      machine     = "deployment"
      description = "Starts ${local.deployment_machine_name} for approvals and deployment requests, one deployment of ${local.endpoint_name} at a time."
      retry       = max(var.endpoint_poll_interval_seconds, 5)
      longest     = 2 * var.endpoint_max_polls * var.endpoint_poll_interval_seconds
      senders     = local.registry_rule_arns
    }
  }
  request_queue_arns = {
    for key, queue in local.request_queues : key => "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${queue.name}"
  }
}

data "aws_iam_policy_document" "trigger_dlq" {
  statement {
    sid       = "EventBridgeDeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [local.trigger_dlq_arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = concat([local.trigger_rule_arn], local.registry_rule_arns)
    }
  }
}

resource "aws_sqs_queue" "trigger_dlq" {
  name                      = local.trigger_dlq_name
  sqs_managed_sse_enabled   = true
  message_retention_seconds = 1209600
  policy                    = data.aws_iam_policy_document.trigger_dlq.json
}

# The dead-letter queue of a FIFO queue must be a FIFO queue.
resource "aws_sqs_queue" "request_dlq" {
  for_each = local.request_queues

  name                      = each.value.dlq_name
  fifo_queue                = true
  sqs_managed_sse_enabled   = true
  message_retention_seconds = 1209600
}

data "aws_iam_policy_document" "request_queue" {
  for_each = local.request_queues

  statement {
    sid       = "OnlyTheProjectsRulesSend"
    actions   = ["sqs:SendMessage"]
    resources = [local.request_queue_arns[each.key]]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = each.value.senders
    }
  }
}

resource "aws_sqs_queue" "request" {
  for_each = local.request_queues

  name       = each.value.name
  fifo_queue = true
  # An EventBridge rule cannot set MessageDeduplicationId; a FIFO target needs content-based
  # deduplication (EventBridge API reference, Target.SqsParameters).
  content_based_deduplication = true
  deduplication_scope         = "queue"
  fifo_throughput_limit       = "perQueue"
  sqs_managed_sse_enabled     = true
  visibility_timeout_seconds  = local.trigger_queue_visibility_seconds
  message_retention_seconds   = 1209600

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.request_dlq[each.key].arn
    maxReceiveCount     = min(1000, 2 * ceil(each.value.longest / each.value.retry) + 10)
  })
  policy = data.aws_iam_policy_document.request_queue[each.key].json
}

data "aws_iam_policy_document" "trigger" {
  for_each = local.request_queues

  statement {
    sid = "StartExecutions"
    # ListExecutions lets the handler see an execution already in flight (one at a time).
    actions   = ["states:StartExecution", "states:ListExecutions"]
    resources = [aws_sfn_state_machine.this[each.value.machine].arn]
  }

  statement {
    sid       = "ReadExecutions"
    actions   = ["states:DescribeExecution"]
    resources = ["arn:${local.partition}:states:${local.region}:${local.account_id}:execution:${local.state_machines[each.value.machine].name}:*"]
  }

  statement {
    sid = "ReadTheQueue"
    # What the SQS event source mapping needs (AWSLambdaSQSQueueExecutionRole), plus
    # ChangeMessageVisibility for the handler's retry delay.
    actions = [
      "sqs:ReceiveMessage",
      "sqs:DeleteMessage",
      "sqs:GetQueueAttributes",
      "sqs:ChangeMessageVisibility",
    ]
    resources = [aws_sqs_queue.request[each.key].arn]
  }

  statement {
    sid       = "NotifyRequestsNotRun"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.notifications.arn]
  }

  statement {
    sid       = "EncryptNotifications"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [local.sns_kms_key_arn]
  }

  dynamic "statement" {
    for_each = each.key == "uploads" ? [1] : []

    content {
      sid = "ReadUploadSettings"
      # HeadObject of the uploaded version: the dataset settings its metadata carries.
      actions   = ["s3:GetObject", "s3:GetObjectVersion"]
      resources = ["${local.bucket_arn}/${local.s3_prefix.data_raw}*"]
    }
  }

  dynamic "statement" {
    for_each = each.key == "deployments" ? [1] : []

    content {
      sid = "ReadApprovals"
      # The package's last approval names the execution; a rejection: does the endpoint serve it?
      actions   = local.serving_package_lookup.actions
      resources = local.serving_package_lookup.resources
    }
  }

  statement {
    sid = "XRayTracing"
    # X-Ray segment APIs have no resource-level permissions: AWS requires Resource "*".
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }
}

module "trigger" {
  source   = "./modules/lambda_function"
  for_each = local.request_queues

  name               = each.value.function
  description        = each.value.description
  role_description   = "Role of the ${each.value.function} Lambda."
  policy_name        = "start-state-machine"
  policy_json        = data.aws_iam_policy_document.trigger[each.key].json
  filename           = "${local.build_dir}/trigger.zip"
  source_code_hash   = filebase64sha256("${local.build_dir}/trigger.zip")
  timeout            = local.trigger_timeout_seconds
  tracing_mode       = "Active"
  log_retention_days = var.log_retention_days

  environment_variables = {
    REQUESTS               = each.key
    STATE_MACHINE_ARN      = aws_sfn_state_machine.this[each.value.machine].arn
    NOTIFICATION_TOPIC_ARN = aws_sns_topic.notifications.arn
    QUEUE_URL              = aws_sqs_queue.request[each.key].url
    RETRY_DELAY_SECONDS    = tostring(each.value.retry)
    DATA_PREFIX            = local.s3_prefix.data_raw
    ENDPOINT_NAME          = local.endpoint_name
    LOG_LEVEL              = var.trigger_log_level
  }
}

resource "aws_lambda_event_source_mapping" "trigger" {
  for_each = local.request_queues

  event_source_arn = aws_sqs_queue.request[each.key].arn
  function_name    = module.trigger[each.key].function_arn
  # One request per invocation: the handler decides it, then either deletes it or keeps it.
  batch_size              = 1
  function_response_types = ["ReportBatchItemFailures"]

  # CreateEventSourceMapping checks that the function's role may read the queue: the whole
  # module (its role policy included) exists first.
  depends_on = [module.trigger]
}

# ---- uploads: S3 Object Created under data/raw/ ----------------------------------------------

resource "aws_cloudwatch_event_rule" "trigger" {
  count = var.enable_auto_trigger ? 1 : 0

  name        = local.trigger_name
  description = "Uploads under s3://${local.bucket_name}/${local.s3_prefix.data_raw} queue a run of ${local.state_machine_name}."

  # Every key under the prefix: the trigger runs .csv in any case and notifies about the rest,
  # so no upload is left with only a log line (a wildcard on ".csv" is case-sensitive).
  event_pattern = jsonencode({
    source      = ["aws.s3"]
    detail-type = ["Object Created"]
    detail = {
      bucket = { name = [local.bucket_name] }
      object = { key = [{ prefix = local.s3_prefix.data_raw }] }
    }
  })
}

resource "aws_cloudwatch_event_target" "trigger" {
  count = var.enable_auto_trigger ? 1 : 0

  rule      = aws_cloudwatch_event_rule.trigger[0].name
  target_id = "uploads-queue"
  arn       = aws_sqs_queue.request["uploads"].arn

  # One group: the order of runs is the order of uploads, and one is in flight at a time.
  sqs_target {
    message_group_id = "uploads"
  }

  retry_policy {
    maximum_event_age_in_seconds = 3600
    maximum_retry_attempts       = 3
  }

  dead_letter_config {
    arn = aws_sqs_queue.trigger_dlq.arn
  }
}

# ---- deployments: Model Registry approvals and rejections of the project's group --------------
# Only an approval starts a deployment; the deployment machine checks the package's group and
# status itself before deploying anything. A rejection is reported when the endpoint serves it.

locals {
  registry_events = {
    approved = "Approved"
    rejected = "Rejected"
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
      ModelApprovalStatus   = [each.value]
    }
  })
}

resource "aws_cloudwatch_event_target" "model_package" {
  for_each  = local.registry_events
  rule      = aws_cloudwatch_event_rule.model_package[each.key].name
  target_id = "deployments-queue"
  arn       = aws_sqs_queue.request["deployments"].arn

  # One group per endpoint: its deployments run one at a time, in approval order.
  sqs_target {
    message_group_id = local.endpoint_name
  }

  retry_policy {
    maximum_event_age_in_seconds = 3600
    maximum_retry_attempts       = 3
  }

  dead_letter_config {
    arn = aws_sqs_queue.trigger_dlq.arn
  }
}
