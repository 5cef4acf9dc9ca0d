# ---------------------------------------------------------------------------------------------
# Versions: Terraform >= 1.10 for the S3 backend's native lock file (`use_lockfile`) and
# cross-variable validation; the aws range admits both the 5.100 offline mirror and 6.x.
# ---------------------------------------------------------------------------------------------

terraform {
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 7.0"
    }
  }

  # Partial configuration: `make deploy` / CI pass bucket, key, region and use_lockfile through
  # `-backend-config` (see terraform/bootstrap outputs). Offline checks run with -backend=false.
  backend "s3" {}
}
