# Third-party API keys cannot be rotated by a Lambda of ours: rotate them at
# the provider and put the new value (see docs/deploy.md).
resource "aws_secretsmanager_secret" "app" {
  #checkov:skip=CKV2_AWS_57:HuggingFace and Pinecone keys are issued by those services; Secrets Manager cannot rotate them
  name_prefix             = "${var.name}-"
  description             = "DebugFlow application secrets (JSON): HUGGINGFACE_API_KEY, PINECONE_API_KEY, FIREBASE_PROJECT_ID, TAVILY_API_KEY"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.recovery_window_days
  tags                    = var.tags
}

# Write-only (Terraform 1.11+): the value reaches Secrets Manager but never
# the plan or the state; bumping values_version writes it again.
resource "aws_secretsmanager_secret_version" "app" {
  count = var.values_version > 0 ? 1 : 0

  secret_id                = aws_secretsmanager_secret.app.id
  secret_string_wo         = jsonencode(var.values)
  secret_string_wo_version = var.values_version

  lifecycle {
    precondition {
      condition     = var.values != null
      error_message = "values_version > 0 writes values, but values is null."
    }
  }
}
