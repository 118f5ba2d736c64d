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

variable "metrics_namespace" {
  description = "CloudWatch namespace of the app's own metrics (handler/metrics.py writes DebugFlow)."
  type        = string
  default     = "DebugFlow"

  validation {
    condition     = can(regex("^[A-Za-z0-9.\\-_/#: ]{1,255}$", var.metrics_namespace)) && !startswith(var.metrics_namespace, "AWS/")
    error_message = "metrics_namespace must be 1-255 letters, digits or . - _ / # : and space, and not start with AWS/."
  }
}

variable "server_errors_threshold" {
  description = "5xx answers of the app in five minutes that raise the alarm."
  type        = number
  default     = 5

  validation {
    condition     = var.server_errors_threshold >= 1 && floor(var.server_errors_threshold) == var.server_errors_threshold
    error_message = "server_errors_threshold must be a whole number, at least 1."
  }
}

variable "time_to_first_token_p90_ms" {
  description = "Time to first token (ms) that one answer in ten may exceed before the alarm fires."
  type        = number
  default     = 8000

  validation {
    condition     = var.time_to_first_token_p90_ms >= 100 && var.time_to_first_token_p90_ms <= 900000
    error_message = "time_to_first_token_p90_ms must be 100-900000 (the function's longest timeout)."
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
