# ---------------------------------------------------------------------------------------------
# Inputs of one Lambda function: its name, code, settings and what its role may do.
# ---------------------------------------------------------------------------------------------

variable "name" {
  description = "Function name; also the name of its role and of its log group (/aws/lambda/<name>)."
  type        = string
}

variable "description" {
  description = "Description of the function."
  type        = string
}

variable "role_description" {
  description = "Description of the function's role."
  type        = string
}

variable "policy_name" {
  description = "Name of the role's inline policy."
  type        = string
}

variable "policy_json" {
  description = "An aws_iam_policy_document's JSON: what the function may do besides writing its own logs (the module adds that). Null: nothing else."
  type        = string
  default     = null
}

variable "key_grant" {
  description = "A KMS key the function's work needs (such as a bucket's customer-managed key) and the actions it needs on it. Null: none."
  type = object({
    key_arn = string
    actions = list(string)
  })
  default = null
}

variable "filename" {
  description = "Path of the function's zip (built by make)."
  type        = string
}

variable "source_code_hash" {
  description = "filebase64sha256 of the zip, so a new build updates the function."
  type        = string
}

variable "handler" {
  description = "The function's entry point (module.function)."
  type        = string
  default     = "handler.lambda_handler"
}

variable "runtime" {
  description = "Lambda runtime identifier."
  type        = string
  default     = "python3.12"
}

variable "timeout" {
  description = "Seconds an invocation may run."
  type        = number
}

variable "memory_size" {
  description = "Memory of the function, in MB; null means the default."
  type        = number
  default     = 128
  nullable    = false
}

variable "environment_variables" {
  description = "Environment of the function; empty means no environment block."
  type        = map(string)
  default     = {}
}

variable "tracing_mode" {
  description = "X-Ray tracing mode (\"Active\" or \"PassThrough\"); null means no tracing_config."
  type        = string
  default     = null

  validation {
    condition     = contains(["Active", "PassThrough"], coalesce(var.tracing_mode, "Active"))
    error_message = "tracing_mode must be null, Active or PassThrough."
  }
}

variable "log_retention_days" {
  description = "Retention of the function's log group, in days."
  type        = number
}

variable "tags" {
  description = "Tags added to the log group, role and function (over the provider's default_tags)."
  type        = map(string)
  default     = {}
}
