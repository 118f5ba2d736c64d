variable "name" {
  description = "Prefix of the topic and alarm names."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,40}$", var.name))
    error_message = "name must be 2-41 lower-case letters, digits or hyphens, starting with a letter."
  }
}

variable "kms_key_arn" {
  description = "KMS key encrypting the SNS topic; its policy must let cloudwatch.amazonaws.com use it."
  type        = string
}

variable "email" {
  description = "Address subscribed to the topic (AWS mails a confirmation link). Null: none."
  type        = string
  default     = null
}

variable "function_name" {
  description = "Lambda function watched."
  type        = string
}

variable "function_timeout" {
  description = "The function's timeout in seconds (the duration alarm fires at 90% of it)."
  type        = number
}

variable "reserved_concurrency" {
  description = "The function's reserved concurrency; null: no concurrency alarm (nothing to approach)."
  type        = number
  default     = null
}

variable "function_errors_threshold" {
  description = "Failed invocations in five minutes that raise the alarm."
  type        = number
  default     = 1

  validation {
    condition     = var.function_errors_threshold >= 1
    error_message = "function_errors_threshold must be at least 1."
  }
}

variable "db_instance_identifier" {
  description = "RDS instance watched."
  type        = string
}

variable "db_free_storage_threshold_gib" {
  description = "Free storage (GiB) below which the alarm fires."
  type        = number
  default     = 2

  validation {
    condition     = var.db_free_storage_threshold_gib > 0
    error_message = "db_free_storage_threshold_gib must be positive."
  }
}

variable "db_cpu_threshold_percent" {
  description = "Average database CPU (%) over 15 minutes that raises the alarm."
  type        = number
  default     = 80

  validation {
    condition     = var.db_cpu_threshold_percent > 0 && var.db_cpu_threshold_percent <= 100
    error_message = "db_cpu_threshold_percent must be 1-100."
  }
}

variable "db_connections_threshold" {
  description = "Database connections that raise the alarm (db.t4g.micro allows about 80)."
  type        = number
  default     = 60

  validation {
    condition     = var.db_connections_threshold >= 1
    error_message = "db_connections_threshold must be at least 1."
  }
}

variable "nat_gateway_ids" {
  description = "NAT gateways watched for port allocation errors."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags added to every resource of the module."
  type        = map(string)
  default     = {}
}
