# ---------------------------------------------------------------------------------------------
# Storage: one bucket for raw data, staged code, pipeline artifacts, evaluations and endpoint
# data capture. Either created here (hardened) or an existing bucket referenced by name.
# ---------------------------------------------------------------------------------------------

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_18:Access logging needs a second log bucket; enable it org-wide (CloudTrail data events) instead.
  #checkov:skip=CKV_AWS_144:Cross-region replication is out of scope for a single-region training bucket.
  #checkov:skip=CKV_AWS_145:SSE-S3 is the default to avoid KMS cost; set kms_key_arn for SSE-KMS.
  count = var.create_bucket ? 1 : 0

  bucket = local.bucket_name
}

data "aws_s3_bucket" "existing" {
  count = var.create_bucket ? 0 : 1

  bucket = var.bucket_name

  lifecycle {
    precondition {
      condition     = var.bucket_name != ""
      error_message = "bucket_name is required when create_bucket = false."
    }
  }
}

resource "aws_s3_bucket_versioning" "this" {
  count = var.create_bucket ? 1 : 0

  bucket = aws_s3_bucket.this[0].id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  count = var.create_bucket ? 1 : 0

  bucket = aws_s3_bucket.this[0].id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = length(var.kms_key_arn) > 0 ? "aws:kms" : "AES256"
      kms_master_key_id = var.kms_key_arn == "" ? null : var.kms_key_arn
    }
    bucket_key_enabled = var.kms_key_arn != ""
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  count = var.create_bucket ? 1 : 0

  bucket = aws_s3_bucket.this[0].id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  count = var.create_bucket ? 1 : 0

  bucket = aws_s3_bucket.this[0].id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

data "aws_iam_policy_document" "bucket" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      local.bucket_arn,
      "${local.bucket_arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  count = var.create_bucket ? 1 : 0

  bucket = aws_s3_bucket.this[0].id
  policy = data.aws_iam_policy_document.bucket.json

  # Serialise bucket sub-resource writes: S3 answers concurrent ones with OperationAborted.
  depends_on = [aws_s3_bucket_public_access_block.this]
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  #checkov:skip=CKV_AWS_300:Rule "abort-incomplete-uploads" below aborts after 7 days; checkov drops static rule blocks beside a dynamic one (tests/unit/test_terraform.py checks the expanded rules).
  count = var.create_bucket ? 1 : 0

  bucket = aws_s3_bucket.this[0].id

  # The prefixes contracts/s3_layout.py marks "expires" (each run's input copy, the pipeline's
  # intermediate splits, failure reports, the endpoint's captured traffic, drift reports) are
  # deleted after expiring_data_days. A registered model package names its artifact
  # (models/<execution-id>/...) and its evaluation (evaluation/<execution-id>/...) for as long as
  # it exists, so those never expire (tests/unit/test_terraform.py derives what packages
  # reference from the ASL and the pipeline definition and checks these rules).
  dynamic "rule" {
    for_each = local.s3_expiring_prefixes

    content {
      id     = "expire-${trimsuffix(rule.value, "/")}"
      status = "Enabled"

      filter {
        prefix = rule.value
      }

      expiration {
        days = var.expiring_data_days
      }

      noncurrent_version_expiration {
        noncurrent_days = 7
      }
    }
  }

  rule {
    id     = "expire-overwritten-models"
    status = "Enabled"

    filter {
      prefix = local.s3_prefix.models
    }

    noncurrent_version_expiration {
      noncurrent_days = 7
    }
  }

  rule {
    id     = "expire-overwritten-evaluations"
    status = "Enabled"

    filter {
      prefix = local.s3_prefix.evaluation
    }

    noncurrent_version_expiration {
      noncurrent_days = 7
    }
  }

  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  # Versioning must be on before noncurrent-version rules are accepted.
  depends_on = [aws_s3_bucket_versioning.this]
}

# Object Created events go to EventBridge, where the trigger rule filters data/raw/*.csv.
resource "aws_s3_bucket_notification" "this" {
  count = var.enable_auto_trigger ? 1 : 0

  bucket      = local.bucket_id
  eventbridge = true
}

# ---------------------------------------------------------------------------------------------
# Staged code: the processing scripts' bundles and the training source bundle.
# ---------------------------------------------------------------------------------------------

resource "aws_s3_object" "code" {
  for_each = local.code_objects

  bucket      = local.bucket_id
  key         = each.value.key
  source      = each.value.source
  source_hash = filemd5(each.value.source)

  depends_on = [aws_s3_bucket_server_side_encryption_configuration.this]
}


# What the evaluation step's champion input reads when no model serves: the input must name an
# existing prefix (a processing job refuses one with no objects), and this object says "none".
resource "aws_s3_object" "no_champion" {
  bucket       = local.bucket_id
  key          = "${local.s3_prefix.models}none/README"
  content      = "No model serves the endpoint: the evaluation step compares the candidate with nothing.\n"
  content_type = "text/plain"

  depends_on = [aws_s3_bucket_server_side_encryption_configuration.this]
}

resource "aws_s3_object" "sourcedir" {
  bucket      = local.bucket_id
  key         = local.sourcedir_key
  source      = "${local.build_dir}/sourcedir.tar.gz"
  source_hash = local.sourcedir_md5

  depends_on = [aws_s3_bucket_server_side_encryption_configuration.this]
}

# ---------------------------------------------------------------------------------------------
# Default data: the repo's iris CSV, so the first run after `terraform apply` (deploy.yml starts
# one with `{}`) has the object its default data_uri names. Outside data/raw/ on purpose: the
# upload trigger fires on data/raw/*.csv, and an apply must not start a second run.
# ---------------------------------------------------------------------------------------------

resource "aws_s3_object" "default_data" {
  bucket       = local.bucket_id
  key          = "data/seed/iris.csv"
  source       = "${path.module}/../data/raw/iris.csv"
  content_type = "text/csv"

  # Created once: a later apply never puts the repo's copy back over data a user uploaded to
  # this key. The provider re-uploads on a change to any attribute its hasObjectContentChanges
  # lists (terraform-provider-aws internal/service/s3/object.go); all of them are ignored, and
  # no source_hash/etag is set. Deleting the object makes the next apply create it again.
  lifecycle {
    ignore_changes = [
      bucket_key_enabled, cache_control, checksum_algorithm, content, content_base64,
      content_disposition, content_encoding, content_language, content_type, etag, kms_key_id,
      metadata, server_side_encryption, source, source_hash, storage_class, website_redirect,
    ]
  }

  # Written after versioning is on: an object written before has the "null" version, and a run
  # on it would be refused as InputNotVersioned (its package could not name what it trained on).
  depends_on = [
    aws_s3_bucket_server_side_encryption_configuration.this,
    aws_s3_bucket_versioning.this,
  ]
}
