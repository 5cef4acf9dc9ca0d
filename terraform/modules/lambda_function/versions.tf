# The root module constrains the provider's version; this module only needs the aws provider.
terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}
