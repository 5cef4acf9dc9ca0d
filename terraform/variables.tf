# ---------------------------------------------------------------------------------------------
# General
# ---------------------------------------------------------------------------------------------

variable "region" {
  description = "AWS region every resource is created in."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must look like an AWS region, e.g. us-east-1."
  }
}

variable "environment" {
  description = "Deployment stage, used in tags and resource descriptions."
  type        = string
  default     = "dev"

  validation {
    condition     = contains(["local", "dev", "staging", "prod"], var.environment)
    error_message = "environment must be one of local, dev, staging, prod."
  }
}

variable "project_name" {
  description = "Prefix for every resource name; also the prefix of models and endpoint configs the state machine creates."
  type        = string
  default     = "iris-mlops"

  validation {
    # Lowercase because SageMaker lowercases names in ARNs and S3 bucket names must be lowercase;
    # <= 32 characters keeps "<project>-<account>-<region>" inside the 63-character bucket limit.
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.project_name))
    error_message = "project_name must be 3-32 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "tags" {
  description = "Extra tags added to every resource (merged over Project/Environment/ManagedBy)."
  type        = map(string)
  default     = {}
}

variable "log_retention_days" {
  description = "Retention of the Lambda and Step Functions CloudWatch log groups, in days."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ...)."
  }
}

variable "build_dir" {
  description = "Directory holding `make build` output (sourcedir.tar.gz, trigger.zip); relative paths are relative to this module."
  type        = string
  default     = "../build"
}

# ---------------------------------------------------------------------------------------------
# Storage
# ---------------------------------------------------------------------------------------------

variable "create_bucket" {
  description = "Create the project bucket. When false, bucket_name must name an existing bucket whose lifecycle, encryption and policy you manage yourself."
  type        = bool
  default     = true
}

variable "bucket_name" {
  description = "Project bucket name. Empty means \"<project_name>-<account id>-<region>\" (only valid with create_bucket = true)."
  type        = string
  default     = ""

  validation {
    condition     = var.bucket_name == "" || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be empty or a valid S3 bucket name."
  }
}

variable "kms_key_arn" {
  description = "KMS key ARN for bucket encryption (SSE-KMS). Empty means SSE-S3 (AES256)."
  type        = string
  default     = ""

  validation {
    condition     = var.kms_key_arn == "" || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be empty or a KMS key ARN."
  }
}

# ---------------------------------------------------------------------------------------------
# SageMaker
# ---------------------------------------------------------------------------------------------

variable "sagemaker_role_name" {
  description = "Name of an existing SageMaker execution role to use. Empty means Terraform creates a scoped role."
  type        = string
  default     = ""

  validation {
    condition     = var.sagemaker_role_name == "" || can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.sagemaker_role_name))
    error_message = "sagemaker_role_name must be empty or a valid IAM role name."
  }
}

variable "pipeline_name" {
  description = "SageMaker Pipeline name. Empty means \"<project_name>-training\"."
  type        = string
  default     = ""

  validation {
    condition     = var.pipeline_name == "" || can(regex("^[a-z0-9](-*[a-z0-9]){0,255}$", var.pipeline_name))
    error_message = "pipeline_name must be empty or lowercase letters, digits and hyphens."
  }
}

variable "model_package_group_name" {
  description = "Model Registry package group name. Empty means \"<project_name>-models\"."
  type        = string
  default     = ""

  validation {
    condition     = var.model_package_group_name == "" || can(regex("^[a-z0-9](-*[a-z0-9]){0,62}$", var.model_package_group_name))
    error_message = "model_package_group_name must be empty or up to 63 lowercase letters, digits and hyphens."
  }
}

variable "endpoint_name" {
  description = "Name of the real-time endpoint the state machine creates or updates. Empty means \"<project_name>-endpoint\"."
  type        = string
  default     = ""

  validation {
    condition     = var.endpoint_name == "" || can(regex("^[a-z0-9](-*[a-z0-9]){0,62}$", var.endpoint_name))
    error_message = "endpoint_name must be empty or up to 63 lowercase letters, digits and hyphens."
  }
}

variable "endpoint_instance_type" {
  description = "Instance type of the real-time endpoint."
  type        = string
  default     = "ml.m5.large"

  validation {
    condition     = can(regex("^ml\\.[a-z0-9]+\\.[a-z0-9]+$", var.endpoint_instance_type))
    error_message = "endpoint_instance_type must be a SageMaker instance type such as ml.m5.large."
  }
}

variable "endpoint_variant_name" {
  description = "Production variant name of the endpoint: the deployment plan names the variant with it, and its rollback alarms and the endpoint alarms watch that VariantName."
  type        = string
  default     = "AllTraffic"

  validation {
    # botocore sagemaker model, shape VariantName: max 63, pattern [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}
    condition     = can(regex("^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$", var.endpoint_variant_name))
    error_message = "endpoint_variant_name must be 1-63 letters, digits or hyphens, starting and ending with a letter or digit (SageMaker's VariantName)."
  }
}

# ---------------------------------------------------------------------------------------------
# Orchestration. The defaults baked into every execution (each can be overridden in the input)
# are variables generated from the execution input's schema: execution_input.generated.tf.
# ---------------------------------------------------------------------------------------------

variable "state_machine_name" {
  description = "The training state machine's name. Empty means \"<project_name>-training\"; the deployment machine is always \"<project_name>-deployment\"."
  type        = string
  default     = ""

  validation {
    condition     = var.state_machine_name == "" || can(regex("^[A-Za-z0-9_-]{1,80}$", var.state_machine_name))
    error_message = "state_machine_name must be empty or up to 80 letters, digits, hyphens or underscores."
  }
}

variable "allow_auto_approve" {
  description = "Whether an execution may register its model as Approved; false forces PendingManualApproval."
  type        = bool
  default     = false
}

# ---------------------------------------------------------------------------------------------
# Trigger
# ---------------------------------------------------------------------------------------------

variable "enable_auto_trigger" {
  description = "Start an execution when a .csv lands under data/raw/ (S3 -> EventBridge -> Lambda). Takes over the bucket's notification configuration."
  type        = bool
  default     = true
}

variable "trigger_log_level" {
  description = "LOG_LEVEL of the trigger Lambda."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.trigger_log_level)
    error_message = "trigger_log_level must be one of DEBUG, INFO, WARNING, ERROR."
  }
}

# ---------------------------------------------------------------------------------------------
# Notifications and monitoring
# ---------------------------------------------------------------------------------------------

variable "notification_email" {
  description = "Email subscribed to the notification topic (confirm the subscription mail). Empty means no subscription."
  type        = string
  default     = ""

  validation {
    condition     = var.notification_email == "" || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.notification_email))
    error_message = "notification_email must be empty or an email address."
  }
}

variable "sns_kms_key_id" {
  description = "KMS key (ID, ARN or alias) for the notification topic. Empty means a dedicated customer-managed key; note that EventBridge and CloudWatch alarms cannot publish to a topic encrypted with alias/aws/sns."
  type        = string
  default     = ""
}

variable "endpoint_latency_threshold_ms" {
  description = "ModelLatency alarm threshold (average over a minute), in milliseconds: a new fleet over it during its baking period is rolled back."
  type        = number
  default     = 500

  validation {
    condition     = var.endpoint_latency_threshold_ms > 0
    error_message = "endpoint_latency_threshold_ms must be positive."
  }
}

# ---------------------------------------------------------------------------------------------
# The endpoint and its guarded deployments (lambdas.tf deployment_plan, deployment_guardrails.tf)
# ---------------------------------------------------------------------------------------------

variable "endpoint_instance_count" {
  description = "Instances behind the endpoint. One by default (blue/green ALL_AT_ONCE with baking and auto-rollback); a CANARY needs at least two, since it holds at most 50% of the fleet in whole instances, and doubles the endpoint's cost."
  type        = number
  default     = 1

  validation {
    condition     = var.endpoint_instance_count >= 1 && var.endpoint_instance_count == floor(var.endpoint_instance_count)
    error_message = "endpoint_instance_count must be a whole number of at least 1."
  }
}

variable "deployment_traffic" {
  description = "How a guarded update shifts traffic to the new fleet: ALL_AT_ONCE (the default, one instance is enough) or CANARY (deployment_canary_percent first; needs endpoint_instance_count >= 2)."
  type        = string
  default     = "ALL_AT_ONCE"

  validation {
    condition     = contains(["ALL_AT_ONCE", "CANARY"], var.deployment_traffic)
    error_message = "deployment_traffic must be ALL_AT_ONCE or CANARY."
  }

  validation {
    condition     = var.deployment_traffic != "CANARY" || var.endpoint_instance_count >= 2
    error_message = "A CANARY needs endpoint_instance_count >= 2: SageMaker's canary is at most 50% of the fleet, in whole instances."
  }
}

variable "deployment_canary_percent" {
  description = "With deployment_traffic = CANARY: the share of the new fleet that takes traffic first (CanarySize, CAPACITY_PERCENT); a whole number of instances."
  type        = number
  default     = 50

  validation {
    condition     = var.deployment_canary_percent >= 1 && var.deployment_canary_percent <= 50
    error_message = "deployment_canary_percent must be from 1 to 50 (SageMaker: at most 50% of the fleet)."
  }

  validation {
    condition = (
      var.deployment_traffic != "CANARY" ||
      var.endpoint_instance_count * var.deployment_canary_percent % 100 == 0
    )
    error_message = "deployment_canary_percent of endpoint_instance_count must be a whole number of instances (e.g. 50 with 2 instances, 25 with 4)."
  }
}

variable "deployment_baking_seconds" {
  description = "Baking period: seconds the new fleet (each canary step) is watched by its rollback alarms (WaitIntervalInSeconds)."
  type        = number
  default     = 600

  validation {
    condition     = var.deployment_baking_seconds >= 0 && var.deployment_baking_seconds <= 3600 && var.deployment_baking_seconds == floor(var.deployment_baking_seconds)
    error_message = "deployment_baking_seconds must be a whole number from 0 to 3600 (SageMaker's WaitIntervalInSeconds)."
  }

  validation {
    # The deployment machine waits for the canary's and the final baking period (then the smoke test).
    condition     = var.endpoint_poll_interval_seconds * var.endpoint_max_polls >= 2 * var.deployment_baking_seconds + var.deployment_termination_wait_seconds
    error_message = "endpoint_poll_interval_seconds x endpoint_max_polls must cover two baking periods plus the termination wait: raise endpoint_max_polls or shorten deployment_baking_seconds."
  }
}

variable "deployment_termination_wait_seconds" {
  description = "Seconds the old fleet is kept after a successful shift before SageMaker terminates it (TerminationWaitInSeconds)."
  type        = number
  default     = 0

  validation {
    condition     = var.deployment_termination_wait_seconds >= 0 && var.deployment_termination_wait_seconds <= 3600 && var.deployment_termination_wait_seconds == floor(var.deployment_termination_wait_seconds)
    error_message = "deployment_termination_wait_seconds must be a whole number from 0 to 3600 (SageMaker's TerminationWaitInSeconds)."
  }
}

variable "deployment_5xx_errors_threshold" {
  description = "Invocation5XXErrors of the new fleet in a minute that roll a deployment back (the model's own errors)."
  type        = number
  default     = 1

  validation {
    condition     = var.deployment_5xx_errors_threshold >= 1
    error_message = "deployment_5xx_errors_threshold must be at least 1."
  }
}

variable "endpoint_poll_interval_seconds" {
  description = "Seconds between the deployment machine's endpoint status polls."
  type        = number
  default     = 30

  validation {
    condition     = var.endpoint_poll_interval_seconds >= 1 && var.endpoint_poll_interval_seconds <= 3600 && var.endpoint_poll_interval_seconds == floor(var.endpoint_poll_interval_seconds)
    error_message = "endpoint_poll_interval_seconds must be a whole number from 1 to 3600."
  }
}

variable "endpoint_max_polls" {
  description = "The deployment machine's poll budget: polls of a busy endpoint before a deployment is refused, and of a deploying one before it times out."
  type        = number
  default     = 120

  validation {
    condition     = var.endpoint_max_polls >= 1 && var.endpoint_max_polls <= 10000 && var.endpoint_max_polls == floor(var.endpoint_max_polls)
    error_message = "endpoint_max_polls must be a whole number from 1 to 10000."
  }
}

variable "data_capture_percent" {
  description = "Share of the endpoint's requests captured to data-capture/ for drift monitoring (InitialSamplingPercentage). 0 turns capture off."
  type        = number
  default     = 20

  validation {
    condition     = var.data_capture_percent >= 0 && var.data_capture_percent <= 100 && var.data_capture_percent == floor(var.data_capture_percent)
    error_message = "data_capture_percent must be a whole number from 0 to 100."
  }
}

variable "expiring_data_days" {
  description = "Days after which the bucket's transient prefixes expire: runs' input copies, pipeline splits, failure reports, captured traffic, drift reports (contracts/s3_layout.py)."
  type        = number
  default     = 90

  validation {
    condition     = var.expiring_data_days >= 1 && var.expiring_data_days == floor(var.expiring_data_days)
    error_message = "expiring_data_days must be a whole number of at least 1."
  }
}

# ---------------------------------------------------------------------------------------------
# Drift monitoring (monitoring.tf): the schedule, the window, retraining
# ---------------------------------------------------------------------------------------------

variable "monitoring_enabled" {
  description = "Whether the EventBridge Scheduler schedule starts the monitoring machine (false: the schedule exists, DISABLED; make monitor still runs it by hand)."
  type        = bool
  default     = true
}

variable "monitoring_schedule" {
  description = "EventBridge Scheduler expression of the drift monitor: rate(...), cron(...) or at(...). Each run judges the window_minutes before its scheduled time."
  type        = string
  default     = "rate(1 hour)"

  validation {
    condition     = can(regex("^(rate|cron|at)\\(.+\\)$", var.monitoring_schedule))
    error_message = "monitoring_schedule must be an EventBridge Scheduler expression: rate(...), cron(...) or at(...)."
  }
}

variable "monitoring_window_minutes" {
  description = "Minutes of captured traffic each monitoring run judges (match the schedule: 60 for hourly); also the drift alarm's period."
  type        = number
  default     = 60

  validation {
    condition     = var.monitoring_window_minutes >= 1 && var.monitoring_window_minutes <= 10080 && var.monitoring_window_minutes == floor(var.monitoring_window_minutes)
    error_message = "monitoring_window_minutes must be a whole number from 1 to 10080 (a week)."
  }
}

variable "monitoring_min_rows" {
  description = "Fewest captured rows a window needs to be judged; below it the verdict is insufficient-data, never an alarm (docs/monitoring.md explains the default)."
  type        = number
  default     = 200

  validation {
    condition     = var.monitoring_min_rows >= 1 && var.monitoring_min_rows == floor(var.monitoring_min_rows)
    error_message = "monitoring_min_rows must be a whole number of at least 1."
  }
}

variable "monitoring_instance_type" {
  description = "Instance type of the drift Processing job (scikit-learn image); ml.t3.medium is the cheapest Processing accepts."
  type        = string
  default     = "ml.t3.medium"

  validation {
    condition     = can(regex("^ml\\.[a-z0-9]+\\.[a-z0-9]+$", var.monitoring_instance_type))
    error_message = "monitoring_instance_type must be a SageMaker instance type such as ml.t3.medium."
  }
}

variable "retrain_on_drift" {
  description = "On a drift verdict, send one training request for retrain_data_uri through the uploads queue (the new model still goes through the gate and approval). Off: the notification says what to do."
  type        = bool
  default     = false
}

variable "retrain_data_uri" {
  description = "The current dataset a drift retrains on (s3://...); empty: the execution input's default data_uri."
  type        = string
  default     = ""

  validation {
    condition     = var.retrain_data_uri == "" || can(regex("^s3://[a-z0-9.-]{3,63}/.+", var.retrain_data_uri))
    error_message = "retrain_data_uri must be empty or an s3://bucket/key URI."
  }
}
