variable "name" {
  description = "Name of the application secret."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the secret."
  type        = string
}

variable "values" {
  description = <<-EOT
    The application secrets as one JSON object: HUGGINGFACE_API_KEY,
    PINECONE_API_KEY, FIREBASE_PROJECT_ID, TAVILY_API_KEY. Null (the default) leaves the value
    to be put with `aws secretsmanager put-secret-value`; a map here is
    written write-only, so it never enters the plan or the state either.
  EOT
  type        = map(string)
  default     = null
  sensitive   = true
  ephemeral   = true

  validation {
    condition = var.values == null ? true : alltrue([
      for k in keys(var.values) : contains(["HUGGINGFACE_API_KEY", "PINECONE_API_KEY", "FIREBASE_PROJECT_ID", "TAVILY_API_KEY"], k)
    ])
    error_message = "values may hold only HUGGINGFACE_API_KEY, PINECONE_API_KEY, FIREBASE_PROJECT_ID and TAVILY_API_KEY."
  }
}

variable "values_version" {
  description = "0: Terraform does not write values (put them with the AWS CLI). 1 or more: write values; bump it to write them again (an ephemeral value cannot itself decide this)."
  type        = number
  default     = 0

  validation {
    condition     = var.values_version >= 0 && floor(var.values_version) == var.values_version
    error_message = "values_version must be a whole number from 0."
  }
}

variable "recovery_window_days" {
  description = "Days a deleted secret can still be restored (0 deletes at once)."
  type        = number
  default     = 7

  validation {
    condition     = var.recovery_window_days == 0 || (var.recovery_window_days >= 7 && var.recovery_window_days <= 30)
    error_message = "recovery_window_days must be 0 or 7-30."
  }
}

variable "tags" {
  description = "Tags added to every resource of the module."
  type        = map(string)
  default     = {}
}
