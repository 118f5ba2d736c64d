provider "aws" {
  region = var.region
  # Credentials of another account fail before anything is planned, not half-way.
  allowed_account_ids = [var.account_id]

  default_tags {
    tags = {
      Project     = var.name
      Environment = var.environment
      ManagedBy   = "terraform"
    }
  }
}
