# ---------------------------------------------------------------------------------------------
# Versions: same ranges as the main root. This root keeps its state locally (it creates the
# remote-state bucket itself); keep terraform.tfstate somewhere safe or migrate it afterwards.
# ---------------------------------------------------------------------------------------------

terraform {
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 7.0"
    }
  }
}
