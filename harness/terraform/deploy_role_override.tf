# ---------------------------------------------------------------------------------------------
# Emulator override for applying terraform/ AS THE DEPLOY ROLE (tests/e2e/
# test_deploy_from_empty_account.py copies it into a scratch checkout's terraform/). Unlike
# local_override.tf it sets no credentials and keeps the real S3 backend: both come from the
# environment, as in the deploy workflow (AWS_ACCESS_KEY_ID/..._SESSION_TOKEN of the role,
# TF_STATE_BUCKET/TF_STATE_KEY via the Makefile's -backend-config). Only what an emulator on
# https://127.0.0.1:<port> needs differs: path-style S3 (an IP has no bucket subdomains) and no
# EC2 metadata lookups. The endpoint comes from AWS_ENDPOINT_URL, the CA from AWS_CA_BUNDLE.
# ---------------------------------------------------------------------------------------------

terraform {
  # Replaces terraform/'s empty `backend "s3" {}`; -backend-config values still merge in.
  backend "s3" {
    use_path_style          = true
    skip_metadata_api_check = true
  }
}

provider "aws" {
  skip_metadata_api_check = true
  s3_use_path_style       = true
}
