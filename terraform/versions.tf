terraform {
  required_version = ">= 1.11" # write-only secret_string_wo; cross-variable validations

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # Exactly what the tests run: 6.x's function URL adds its own
      # InvokeFunction statement, which would collide with ours (see
      # modules/function/README.md before moving to 6.28+).
      version = "5.100.0"
    }
  }
}
