# ---------------------------------------------------------------------------------------------
# Local emulator override for terraform/bootstrap/: copied by harness/terraform_local.py into a
# temporary copy of the bootstrap root (never into terraform/bootstrap/ itself). The bootstrap is
# applied by an administrator, so it runs with the emulator's root credentials, like the main
# root's local_override.tf; its state stays local (the bootstrap keeps it locally on AWS too).
# ---------------------------------------------------------------------------------------------

provider "aws" {
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  skip_requesting_account_id  = false
  s3_use_path_style           = true
}
