# ---------------------------------------------------------------------------------------------
# Variables
# ---------------------------------------------------------------------------------------------

variable "region" {
  description = "Region of the state bucket and the main deployment."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must look like an AWS region, e.g. us-east-1."
  }
}

variable "project_name" {
  description = "Same project_name as the main root; prefixes role and bucket names."
  type        = string
  default     = "iris-mlops"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.project_name))
    error_message = "project_name must be 3-32 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "github_repository" {
  description = "GitHub repository allowed to assume the CI roles, as \"owner/name\"."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must be \"owner/name\"."
  }
}

variable "deploy_environment" {
  description = "The only GitHub environment whose jobs may assume the deploy role (.github/workflows/deploy.yml uses \"production\"; restrict its deployment branches to main)."
  type        = string
  default     = "production"

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{1,255}$", var.deploy_environment))
    error_message = "deploy_environment must be a GitHub environment name (letters, digits, _ . -)."
  }
}

variable "deploy_branch" {
  description = "The only branch allowed to deploy: the deploy environment's deployment branch policy (see github_environment_command)."
  type        = string
  default     = "main"
}

variable "create_oidc_provider" {
  description = "Create the GitHub OIDC provider; set false when the account already has one (only one per URL is allowed)."
  type        = bool
  default     = true
}

variable "state_bucket_name" {
  description = "Remote-state bucket name. Empty means \"<project_name>-tfstate-<account id>-<region>\"."
  type        = string
  default     = ""

  validation {
    condition     = var.state_bucket_name == "" || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.state_bucket_name))
    error_message = "state_bucket_name must be empty or a valid S3 bucket name."
  }
}

variable "state_key" {
  description = "Object key of the main root's state in the state bucket."
  type        = string
  default     = "iris-mlops/terraform.tfstate"
}

variable "sagemaker_role_name" {
  description = "The main root's sagemaker_role_name: an existing SageMaker execution role it uses instead of creating one. The deploy role may read that role and pass it to SageMaker, nothing more. Empty when the main root creates its own."
  type        = string
  default     = ""

  validation {
    condition     = var.sagemaker_role_name == "" || can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.sagemaker_role_name))
    error_message = "sagemaker_role_name must be empty or a valid IAM role name."
  }
}

variable "deploy_policy_arns" {
  description = "Managed policies attached to the deploy role on top of the project-scoped IAM policy (PowerUserAccess excludes IAM)."
  type        = list(string)
  default     = ["arn:aws:iam::aws:policy/PowerUserAccess"]
}

variable "tags" {
  description = "Extra tags added to every resource."
  type        = map(string)
  default     = {}
}
