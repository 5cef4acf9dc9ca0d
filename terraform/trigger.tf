# ---------------------------------------------------------------------------------------------
# Trigger: S3 "Object Created" under data/raw/ -> EventBridge -> SQS FIFO queue -> Lambda (event
# source mapping, batch size 1) -> StartExecution. One run at a time without reserved concurrency
# (a new account's quota is 10 with 10 kept unreserved, so reserving any fails the apply):
#
# - every upload event becomes one message of ONE message group, in arrival order; EventBridge
#   cannot set a deduplication id, so the queue deduplicates by content, i.e. by the event's id
#   (the body is the whole event, id included): a redelivered event is dropped as a duplicate;
# - for a FIFO queue Lambda sends one batch per message group at a time, in order, and SQS does
#   not hand out the next message of a group while one is in flight ("Using Lambda with Amazon
#   SQS", https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html, and
#   https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/fifo-queue-lambda-behavior.html);
# - the handler keeps the message of the current run in the queue until that run has ended
#   (partial batch response + ChangeMessageVisibility), so it is the lock, and the uploads behind
#   it wait durably; deploy-only executions (Model Registry events) never hold it.
# The Lambda is built by `make` (build/trigger.zip). Events EventBridge cannot deliver go to the
# standard dead-letter queue; messages the trigger gives up on go to the FIFO one.
# ---------------------------------------------------------------------------------------------

locals {
  trigger_timeout_seconds = 30
  # AWS requires the queue's visibility timeout to be at least the function's timeout and
  # recommends six times, so Lambda can retry a throttled batch
  # (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html).
  trigger_queue_visibility_seconds = 6 * local.trigger_timeout_seconds
  # A kept message comes back once per pipeline poll (the state machine's own cadence), and
  # at most every 5 s: each return is one invocation.
  trigger_retry_seconds = max(var.pipeline_poll_interval_seconds, 5)
  # Longest a training run holds the queue: its pipeline and endpoint poll budgets.
  trigger_longest_run_seconds = (
    var.pipeline_max_polls * var.pipeline_poll_interval_seconds +
    var.endpoint_max_polls * var.endpoint_poll_interval_seconds
  )
  # maxReceiveCount arithmetic. Only the head message of the one group is ever received: once
  # per retry delay while the run ahead of it goes on (one it did not start: make start, CI),
  # then again while its own run goes on. So at most 2 * longest_run / retry_delay receives,
  # plus 10 for failed invocations (each hides the message for the visibility timeout, one
  # receive each). Defaults: 2 * 9000 / 60 + 10 = 310. Local (1 s polls, 5 s retries):
  # 2 * 36 + 10 = 82. SQS allows at most 1000; when the cap binds, a message may reach the
  # dead-letter queue while its own run still goes on: that run is not lost, and the next
  # upload still waits for it, since ListExecutions shows it RUNNING.
  # SQS keeps a message at most 14 days from its upload, so a backlog of more than 14 days of
  # runs would lose its oldest uploads to expiry (not to the dead-letter queue).
  trigger_max_receive_count = min(
    1000, 2 * ceil(local.trigger_longest_run_seconds / local.trigger_retry_seconds) + 10
  )
  trigger_rule_arn = "arn:${local.partition}:events:${local.region}:${local.account_id}:rule/${local.trigger_name}"
  # Each queue's policy is set at CreateQueue (its `policy` argument), not by a separate
  # aws_sqs_queue_policy: the provider waits for every SQS attribute write to propagate (about
  # 30 s each: six consistent reads 5 s apart), so a separate policy adds one wait per queue.
  # The policy names its queue by ARN, which is known before the queue exists.
  trigger_dlq_name   = "${local.trigger_name}-dlq"
  trigger_dlq_arn    = "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${local.trigger_dlq_name}"
  trigger_queue_name = "${local.trigger_name}-uploads.fifo"
  trigger_queue_arn  = "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${local.trigger_queue_name}"
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
      values = concat(
        [local.trigger_rule_arn],
        [for key, _ in local.registry_events : "arn:${local.partition}:events:${local.region}:${local.account_id}:rule/${local.name}-model-package-${key}"],
      )
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
resource "aws_sqs_queue" "trigger_queue_dlq" {
  name                      = "${local.trigger_name}-uploads-dlq.fifo"
  fifo_queue                = true
  sqs_managed_sse_enabled   = true
  message_retention_seconds = 1209600
}

resource "aws_sqs_queue" "trigger_queue" {
  name       = local.trigger_queue_name
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
    deadLetterTargetArn = aws_sqs_queue.trigger_queue_dlq.arn
    maxReceiveCount     = local.trigger_max_receive_count
  })
  policy = data.aws_iam_policy_document.trigger_queue.json
}

data "aws_iam_policy_document" "trigger_queue" {
  statement {
    sid       = "OnlyTheUploadRuleSends"
    actions   = ["sqs:SendMessage"]
    resources = [local.trigger_queue_arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [local.trigger_rule_arn]
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "trigger_queue_dead_letters" {
  alarm_name          = "${local.name}-trigger-queue-dead-letters"
  alarm_description   = "Uploads the trigger gave up on are waiting in ${aws_sqs_queue.trigger_queue_dlq.name}."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.trigger_queue_dlq.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.notifications.arn]
}

data "aws_iam_policy_document" "trigger" {
  statement {
    sid = "StartTrainingRuns"
    # ListExecutions lets the handler see a run already in flight (one run at a time).
    actions   = ["states:StartExecution", "states:ListExecutions"]
    resources = [aws_sfn_state_machine.this.arn]
  }

  statement {
    sid = "ReadExecutions"
    # Its own run's status, and the input of running executions: deploy-only ones do not block.
    actions   = ["states:DescribeExecution"]
    resources = ["arn:${local.partition}:states:${local.region}:${local.account_id}:execution:${local.state_machine_name}:*"]
  }

  statement {
    sid = "ReadUploadQueue"
    # What the SQS event source mapping needs (AWSLambdaSQSQueueExecutionRole), plus
    # ChangeMessageVisibility for the handler's retry delay.
    actions = [
      "sqs:ReceiveMessage",
      "sqs:DeleteMessage",
      "sqs:GetQueueAttributes",
      "sqs:ChangeMessageVisibility",
    ]
    resources = [aws_sqs_queue.trigger_queue.arn]
  }

  statement {
    sid       = "NotifyUploadsNotRun"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.notifications.arn]
  }

  statement {
    sid       = "EncryptNotifications"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [local.sns_kms_key_arn]
  }

  statement {
    sid = "XRayTracing"
    # X-Ray segment APIs have no resource-level permissions: AWS requires Resource "*".
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }
}

module "trigger" {
  source = "./modules/lambda_function"

  name               = local.trigger_name
  description        = "Starts ${local.state_machine_name} for queued uploads under data/raw/, one run at a time."
  role_description   = "Role of the ${local.trigger_name} Lambda."
  policy_name        = "start-state-machine"
  policy_json        = data.aws_iam_policy_document.trigger.json
  filename           = "${local.build_dir}/trigger.zip"
  source_code_hash   = filebase64sha256("${local.build_dir}/trigger.zip")
  timeout            = local.trigger_timeout_seconds
  tracing_mode       = "Active"
  log_retention_days = var.log_retention_days

  environment_variables = {
    STATE_MACHINE_ARN      = aws_sfn_state_machine.this.arn
    NOTIFICATION_TOPIC_ARN = aws_sns_topic.notifications.arn
    QUEUE_URL              = aws_sqs_queue.trigger_queue.url
    RETRY_DELAY_SECONDS    = tostring(local.trigger_retry_seconds)
    # One home for these keys: the Model Registry targets below write them.
    DEPLOY_ONLY_INPUT_KEYS = join(",", [for event in values(local.registry_events) : event.input_key])
    DATA_PREFIX            = "data/raw/"
    LOG_LEVEL              = var.trigger_log_level
  }
}

resource "aws_lambda_event_source_mapping" "trigger" {
  event_source_arn = aws_sqs_queue.trigger_queue.arn
  function_name    = module.trigger.function_arn
  # One upload per invocation: the handler decides it, then either deletes it or keeps it.
  batch_size              = 1
  function_response_types = ["ReportBatchItemFailures"]

  # CreateEventSourceMapping checks that the function's role may read the queue: the whole
  # module (its role policy included) exists first.
  depends_on = [module.trigger]
}

resource "aws_cloudwatch_event_rule" "trigger" {
  count = var.enable_auto_trigger ? 1 : 0

  name        = local.trigger_name
  description = "Uploads under s3://${local.bucket_name}/data/raw/ queue a run of ${local.state_machine_name}."

  # Every key under the prefix: the trigger runs .csv in any case and notifies about the rest,
  # so no upload is left with only a log line (a wildcard on ".csv" is case-sensitive).
  event_pattern = jsonencode({
    source      = ["aws.s3"]
    detail-type = ["Object Created"]
    detail = {
      bucket = { name = [local.bucket_name] }
      object = { key = [{ prefix = "data/raw/" }] }
    }
  })
}

resource "aws_cloudwatch_event_target" "trigger" {
  count = var.enable_auto_trigger ? 1 : 0

  rule      = aws_cloudwatch_event_rule.trigger[0].name
  target_id = "trigger-queue"
  arn       = aws_sqs_queue.trigger_queue.arn

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

# ---------------------------------------------------------------------------------------------
# Model Registry events -> the state machine: approving a package deploys it; rejecting the
# package an endpoint serves is reported. Governance stays in the state machine, which checks the
# package's group and status itself before deploying anything.
# ---------------------------------------------------------------------------------------------

data "aws_iam_policy_document" "registry_events_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "registry_events" {
  name               = "${local.name}-registry-events"
  description        = "Lets EventBridge start ${local.state_machine_name} on Model Registry approvals."
  assume_role_policy = data.aws_iam_policy_document.registry_events_assume.json
}

data "aws_iam_policy_document" "registry_events" {
  statement {
    sid       = "StartDeployPath"
    actions   = ["states:StartExecution"]
    resources = [aws_sfn_state_machine.this.arn]
  }
}

resource "aws_iam_role_policy" "registry_events" {
  name   = "start-state-machine"
  role   = aws_iam_role.registry_events.id
  policy = data.aws_iam_policy_document.registry_events.json
}

locals {
  # Approval status -> the execution input key the state machine routes on.
  registry_events = {
    approved = { status = "Approved", input_key = "approved_model_package_arn" }
    rejected = { status = "Rejected", input_key = "rejected_model_package_arn" }
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
      ModelApprovalStatus   = [each.value.status]
    }
  })
}

resource "aws_cloudwatch_event_target" "model_package" {
  for_each  = local.registry_events
  rule      = aws_cloudwatch_event_rule.model_package[each.key].name
  target_id = "state-machine"
  arn       = aws_sfn_state_machine.this.arn
  role_arn  = aws_iam_role.registry_events.arn

  input_transformer {
    input_paths    = { arn = "$.detail.ModelPackageArn" }
    input_template = "{\"${each.value.input_key}\": <arn>}"
  }

  dead_letter_config {
    arn = aws_sqs_queue.trigger_dlq.arn
  }
}
