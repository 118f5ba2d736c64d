variable "name" {
  description = "Name of the dashboard (the stack's name-environment)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,40}$", var.name))
    error_message = "name must be 2-41 lower-case letters, digits or hyphens, starting with a letter."
  }
}

variable "region" {
  description = "Region of the function and database whose metrics are shown."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1."
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

variable "function_name" {
  description = "Lambda function shown; also the app metrics' Service dimension (the app reads AWS_LAMBDA_FUNCTION_NAME)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.function_name))
    error_message = "function_name must be a Lambda function name (1-64 letters, digits, - or _)."
  }
}

variable "log_group_name" {
  description = "The function's log group: the failed-answers table queries it."
  type        = string
}

variable "db_instance_identifier" {
  description = "RDS instance shown."
  type        = string
}

variable "db_proxy_name" {
  description = "RDS Proxy shown beside the instance; null: no proxy row."
  type        = string
  default     = null
}

variable "alarm_arns" {
  description = "Alarms whose state the dashboard's first row shows; empty: no alarm row."
  type        = list(string)
  default     = []
}

variable "period" {
  description = "Seconds each graph point covers."
  type        = number
  default     = 300

  validation {
    condition     = contains([60, 300, 900, 3600], var.period)
    error_message = "period must be 60, 300, 900 or 3600 seconds."
  }
}
