# ---------------------------------------------------------------------------------------------
# Provider: one region, every resource tagged through default_tags.
# ---------------------------------------------------------------------------------------------

provider "aws" {
  region = var.region

  default_tags {
    tags = local.tags
  }
}
