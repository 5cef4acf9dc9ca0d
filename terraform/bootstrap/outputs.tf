# ---------------------------------------------------------------------------------------------
# Outputs: what to configure in GitHub and how the main root initialises its backend.
# ---------------------------------------------------------------------------------------------

output "deploy_role_arn" {
  description = "Role assumed by the deploy workflow's jobs in the deploy environment."
  value       = aws_iam_role.deploy.arn
}

output "plan_role_arn" {
  description = "Read-only role assumed by the plan workflow on pull requests."
  value       = aws_iam_role.plan.arn
}

output "state_bucket_name" {
  description = "Remote-state bucket of the main root."
  value       = aws_s3_bucket.state.bucket
}

output "github_variables_map" {
  description = "GitHub Actions repository variables to set (Settings > Secrets and variables > Actions > Variables). No secrets are needed: OIDC replaces access keys."
  value = {
    AWS_REGION          = var.region
    AWS_DEPLOY_ROLE_ARN = aws_iam_role.deploy.arn
    AWS_PLAN_ROLE_ARN   = aws_iam_role.plan.arn
    TF_STATE_BUCKET     = aws_s3_bucket.state.bucket
    TF_STATE_KEY        = var.state_key
  }
}

output "github_variables_command" {
  description = "gh CLI commands that set the repository variables."
  value = join("\n", [
    "gh variable set AWS_REGION --repo ${var.github_repository} --body '${var.region}'",
    "gh variable set AWS_DEPLOY_ROLE_ARN --repo ${var.github_repository} --body '${aws_iam_role.deploy.arn}'",
    "gh variable set AWS_PLAN_ROLE_ARN --repo ${var.github_repository} --body '${aws_iam_role.plan.arn}'",
    "gh variable set TF_STATE_BUCKET --repo ${var.github_repository} --body '${aws_s3_bucket.state.bucket}'",
    "gh variable set TF_STATE_KEY --repo ${var.github_repository} --body '${var.state_key}'",
  ])
}

output "github_environment_command" {
  description = "gh CLI commands that create the deploy environment and limit it to the deploy branch (add required reviewers in Settings > Environments)."
  value = join("\n", [
    "gh api --method PUT repos/${var.github_repository}/environments/${var.deploy_environment} -F 'deployment_branch_policy[protected_branches]=false' -F 'deployment_branch_policy[custom_branch_policies]=true'",
    "gh api --method POST repos/${var.github_repository}/environments/${var.deploy_environment}/deployment-branch-policies -f name=${var.deploy_branch} -f type=branch",
  ])
}

output "backend_config_hcl" {
  description = "Contents of a backend.hcl for `terraform init -backend-config=backend.hcl` in terraform/."
  value       = <<-EOT
    bucket       = "${aws_s3_bucket.state.bucket}"
    key          = "${var.state_key}"
    region       = "${var.region}"
    encrypt      = true
    use_lockfile = true
  EOT
}
