# Generated from contracts/execution_input.json by `make definitions`
# (python -m devtools.execution_input_tf): do not edit; change the schema and regenerate.
# The Terraform variables that hold the execution input's defaults, with the schema's bounds
# as validation, and the defaults map every execution merges its input over.

variable "label_column" {
  description = "The CSV column holding the class label: the one dataset setting. prepare.py derives everything else (features, types, classes) from the data. Default of the execution input's label_column, which a run may override."
  type        = string
  default     = "Species"
  nullable    = false

  validation {
    condition     = length(var.label_column) >= 1 && length(var.label_column) <= 256 && can(regex("^[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+$", var.label_column))
    error_message = "label_column must be a column name of 1 to 256 letters, digits, spaces or _ . : / = + - @ (it is stored in the model package metadata, which refuses other characters)."
  }
}

variable "feature_columns" {
  description = "The feature columns, in the order the endpoint expects them; [] means every column but the label, in file order. Default of the execution input's feature_columns, which a run may override."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = length(distinct(var.feature_columns)) == length(var.feature_columns) && alltrue([for c in var.feature_columns : c != ""]) && length(jsonencode(var.feature_columns)) <= 256
    error_message = "feature_columns must be [] (derive from the data) or a JSON array of at least 1 distinct, non-empty names whose compact JSON text fits 256 characters (a SageMaker processing container argument)."
  }
}

variable "class_order" {
  description = "The class names in label-index order (the endpoint's probability order); it must name exactly the labels present. [] means the sorted distinct labels. Default of the execution input's class_order, which a run may override."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = (length(var.class_order) == 0 || length(var.class_order) >= 2) && length(distinct(var.class_order)) == length(var.class_order) && alltrue([for c in var.class_order : c != ""]) && length(jsonencode(var.class_order)) <= 256
    error_message = "class_order must be [] (derive from the data) or a JSON array of at least 2 distinct, non-empty names whose compact JSON text fits 256 characters (a SageMaker processing container argument)."
  }
}

variable "deploy_endpoint" {
  description = "Deploy the registered model to the endpoint (only an Approved package is deployed). Default of the execution input's deploy, which a run may override."
  type        = bool
  default     = false
  nullable    = false
}

variable "auto_approve" {
  description = "Register the package as Approved (honoured only if Terraform allow_auto_approve is true). Default of the execution input's auto_approve, which a run may override."
  type        = bool
  default     = false
  nullable    = false
}

variable "accuracy_threshold" {
  description = "Quality gate: the model is registered only if test accuracy is at least this. Default of the execution input's accuracy_threshold, which a run may override."
  type        = number
  default     = 0.9
  nullable    = false

  validation {
    condition     = var.accuracy_threshold >= 0 && var.accuracy_threshold <= 1
    error_message = "accuracy_threshold must be a number from 0 to 1."
  }
}

variable "champion_margin" {
  description = "Quality gate: a candidate whose test accuracy is below the serving model's (on the same test split) by more than this is not registered. Default of the execution input's champion_margin, which a run may override."
  type        = number
  default     = 0.0
  nullable    = false

  validation {
    condition     = var.champion_margin >= 0 && var.champion_margin <= 1
    error_message = "champion_margin must be a number from 0 to 1."
  }
}

variable "max_tuning_jobs" {
  description = "Training jobs the hyperparameter tuner may run in total. Default of the execution input's max_tuning_jobs, which a run may override."
  type        = number
  default     = 9
  nullable    = false

  validation {
    condition     = var.max_tuning_jobs >= 1 && var.max_tuning_jobs <= 500 && floor(var.max_tuning_jobs) == var.max_tuning_jobs
    error_message = "max_tuning_jobs must be a whole number from 1 to 500."
  }
}

variable "parallel_tuning_jobs" {
  description = "Training jobs the tuner runs at the same time. Default of the execution input's parallel_tuning_jobs, which a run may override."
  type        = number
  default     = 3
  nullable    = false

  validation {
    condition     = var.parallel_tuning_jobs >= 1 && var.parallel_tuning_jobs <= 500 && floor(var.parallel_tuning_jobs) == var.parallel_tuning_jobs && var.parallel_tuning_jobs <= var.max_tuning_jobs
    error_message = "parallel_tuning_jobs must be a whole number from 1 to 500 and at most max_tuning_jobs."
  }
}

variable "pipeline_poll_interval_seconds" {
  description = "Seconds between pipeline status polls. Default of the execution input's poll_interval_seconds, which a run may override."
  type        = number
  default     = 60
  nullable    = false

  validation {
    condition     = var.pipeline_poll_interval_seconds >= 1 && var.pipeline_poll_interval_seconds <= 3600 && floor(var.pipeline_poll_interval_seconds) == var.pipeline_poll_interval_seconds
    error_message = "pipeline_poll_interval_seconds must be a whole number from 1 to 3600."
  }
}

variable "pipeline_max_polls" {
  description = "Pipeline poll budget: the run fails after this many polls without a final status. Default of the execution input's max_polls, which a run may override."
  type        = number
  default     = 120
  nullable    = false

  validation {
    condition     = var.pipeline_max_polls >= 1 && var.pipeline_max_polls <= 10000 && floor(var.pipeline_max_polls) == var.pipeline_max_polls
    error_message = "pipeline_max_polls must be a whole number from 1 to 10000."
  }
}

# Every execution's input is merged over these (the state machine's defaults_json).
locals {
  execution_defaults = {
    data_uri              = local.default_data_uri
    label_column          = var.label_column
    feature_columns       = var.feature_columns
    class_order           = var.class_order
    deploy                = var.deploy_endpoint
    auto_approve          = var.auto_approve
    accuracy_threshold    = var.accuracy_threshold
    champion_margin       = var.champion_margin
    max_tuning_jobs       = var.max_tuning_jobs
    parallel_tuning_jobs  = var.parallel_tuning_jobs
    poll_interval_seconds = var.pipeline_poll_interval_seconds
    max_polls             = var.pipeline_max_polls
  }
}
