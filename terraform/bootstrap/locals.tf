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

  # The main root's roles, by exact name: a "<project>-*" wildcard would also match the deploy
  # role itself and let it rewrite its own policy.
  project_role_arns = [
    for role in ["sagemaker", "state-machine", "trigger"] :
    "arn:${local.partition}:iam::${local.account_id}:role/${var.project_name}-${role}"
  ]
}
