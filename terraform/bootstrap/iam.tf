# ---------------------------------------------------------------------------------------------
# CI roles: a deploy role only the protected deploy environment can assume, and a read-only plan
# role for pull requests. Both trust GitHub's OIDC provider for this one repository.
# ---------------------------------------------------------------------------------------------

data "aws_iam_policy_document" "deploy_assume" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.github_oidc_url}:aud"
      values   = ["sts.amazonaws.com"]
    }

    # Exact subject: jobs of the protected deploy environment only. A job with `environment:`
    # gets this subject instead of its ref, so which branches may deploy (and who must approve)
    # is set by the environment's protection rules in GitHub, not here.
    condition {
      test     = "StringEquals"
      variable = "${local.github_oidc_url}:sub"
      values   = ["repo:${var.github_repository}:environment:${var.deploy_environment}"]
    }
  }
}

data "aws_iam_policy_document" "plan_assume" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.github_oidc_url}:aud"
      values   = ["sts.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.github_oidc_url}:sub"
      values   = ["repo:${var.github_repository}:pull_request"]
    }
  }
}

resource "aws_iam_role" "deploy" {
  name               = "${var.project_name}-github-deploy"
  description        = "terraform apply from the ${var.deploy_environment} environment of ${var.github_repository}."
  assume_role_policy = data.aws_iam_policy_document.deploy_assume.json
  # The deploy job applies, then waits up to 90 minutes for the training run it starts.
  max_session_duration = 7200
}

resource "aws_iam_role" "plan" {
  name                 = "${var.project_name}-github-plan"
  description          = "Read-only terraform plan for pull requests of ${var.github_repository}."
  assume_role_policy   = data.aws_iam_policy_document.plan_assume.json
  max_session_duration = 3600
}

resource "aws_iam_role_policy_attachment" "deploy" {
  for_each = toset(var.deploy_policy_arns)

  role       = aws_iam_role.deploy.name
  policy_arn = each.value
}

resource "aws_iam_role_policy_attachment" "plan_read_only" {
  role       = aws_iam_role.plan.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/ReadOnlyAccess"
}

# PowerUserAccess excludes IAM: the deploy role may manage only the project's own roles (the
# calls the AWS provider makes for aws_iam_role and aws_iam_role_policy) and pass each one only
# to the service that runs it. Both come from terraform/iam_roles.json.
data "aws_iam_policy_document" "deploy" {
  statement {
    sid = "ManageProjectRoles"
    actions = [
      "iam:CreateRole",
      "iam:DeleteRole",
      "iam:GetRole",
      "iam:UpdateRole",
      "iam:UpdateRoleDescription",
      "iam:UpdateAssumeRolePolicy",
      "iam:TagRole",
      "iam:UntagRole",
      "iam:ListRoleTags",
      "iam:PutRolePolicy",
      "iam:GetRolePolicy",
      "iam:DeleteRolePolicy",
      "iam:ListRolePolicies",
      "iam:ListAttachedRolePolicies",
      "iam:ListInstanceProfilesForRole",
    ]
    resources = local.project_role_arns
  }

  dynamic "statement" {
    for_each = length(local.existing_sagemaker_role_arns) == 0 ? [] : [local.existing_sagemaker_role_arns]

    content {
      sid       = "ReadExistingSageMakerRole"
      actions   = ["iam:GetRole"]
      resources = statement.value
    }
  }

  dynamic "statement" {
    for_each = local.pass_role_arns_by_service

    content {
      actions   = ["iam:PassRole"]
      resources = statement.value

      condition {
        test     = "StringEquals"
        variable = "iam:PassedToService"
        values   = [statement.key]
      }
    }
  }

  statement {
    sid       = "ReadWriteState"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${local.state_bucket_arn}/*"]
  }

  statement {
    sid       = "ListState"
    actions   = ["s3:ListBucket"]
    resources = [local.state_bucket_arn]
  }
}

resource "aws_iam_role_policy" "deploy" {
  name   = "project-iam-and-state"
  role   = aws_iam_role.deploy.id
  policy = data.aws_iam_policy_document.deploy.json
}

# Plans take the state lock, so the plan role may write the lock file and nothing else.
data "aws_iam_policy_document" "plan" {
  statement {
    sid       = "ReadState"
    actions   = ["s3:GetObject"]
    resources = ["${local.state_bucket_arn}/${var.state_key}"]
  }

  statement {
    sid       = "ListState"
    actions   = ["s3:ListBucket"]
    resources = [local.state_bucket_arn]
  }

  statement {
    sid       = "LockState"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${local.state_bucket_arn}/${var.state_key}.tflock"]
  }
}

resource "aws_iam_role_policy" "plan" {
  name   = "state-read-and-lock"
  role   = aws_iam_role.plan.id
  policy = data.aws_iam_policy_document.plan.json
}
