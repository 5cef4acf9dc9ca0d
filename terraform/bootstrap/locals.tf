# ---------------------------------------------------------------------------------------------
# Locals
# ---------------------------------------------------------------------------------------------

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  tags = merge(var.tags, {
    Project   = var.project_name
    ManagedBy = "terraform-bootstrap"
  })

  github_oidc_url   = "token.actions.githubusercontent.com"
  oidc_provider_arn = var.create_oidc_provider ? aws_iam_openid_connect_provider.github[0].arn : data.aws_iam_openid_connect_provider.github[0].arn

  state_bucket_name = coalesce(var.state_bucket_name, "${var.project_name}-tfstate-${local.account_id}-${var.region}")
  state_bucket_arn  = "arn:${local.partition}:s3:::${local.state_bucket_name}"

  # The main root's roles (name suffix -> the service each is passed to), from the one list
  # tests/unit/test_iam.py checks against terraform/*.tf. Exact names: a "<project>-*" wildcard
  # would also match the deploy role itself and let it rewrite its own policy.
  project_roles = jsondecode(file("${path.module}/../iam_roles.json")).roles
  project_role_arns = [
    for suffix in sort(keys(local.project_roles)) :
    "arn:${local.partition}:iam::${local.account_id}:role/${var.project_name}-${suffix}"
  ]
  # A SageMaker role the main root uses instead of its own (its sagemaker_role_name) is read and
  # passed to SageMaker, never managed.
  existing_sagemaker_role_arns = var.sagemaker_role_name == "" ? [] : [
    "arn:${local.partition}:iam::${local.account_id}:role/${var.sagemaker_role_name}"
  ]
  # Each role may be passed only to the service that runs it: service -> role ARNs.
  pass_role_arns_by_service = {
    for service in distinct(values(local.project_roles)) :
    service => concat(
      [
        for suffix, passed_to in local.project_roles :
        "arn:${local.partition}:iam::${local.account_id}:role/${var.project_name}-${suffix}"
        if passed_to == service
      ],
      service == local.project_roles.sagemaker ? local.existing_sagemaker_role_arns : [],
    )
  }
}
