# ---------------------------------------------------------------------------------------------
# Local emulator override: copied by harness/terraform_local.py into a temporary copy of
# terraform/ (never into terraform/ itself) when applying to the moto emulator. Terraform merges
# *_override.tf files over the module's own blocks.
#
# The endpoint comes from AWS_ENDPOINT_URL (honoured by aws provider >= 5.x for every service);
# these settings stop the provider from asking STS/IAM/EC2 metadata about a real account and
# make S3 use path-style URLs (http://127.0.0.1:PORT/<bucket>), which moto serves.
# ---------------------------------------------------------------------------------------------

terraform {
  # Local state in the temporary working copy; the real S3 backend is for AWS only.
  backend "local" {}
}

provider "aws" {
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  skip_requesting_account_id  = false
  s3_use_path_style           = true
}
