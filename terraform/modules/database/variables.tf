variable "name" {
  description = "Name of the database instance and prefix of its companions."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,40}$", var.name))
    error_message = "name must be 2-41 lower-case letters, digits or hyphens, starting with a letter."
  }
}

variable "vpc_id" {
  description = "VPC of the database."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets, in at least two availability zones."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "subnet_ids must name at least two subnets (RDS requires two availability zones)."
  }
}

variable "client_security_group_id" {
  description = "Security group of the function: the only source admitted on 5432 (besides admin_cidr_blocks)."
  type        = string
}

variable "admin_cidr_blocks" {
  description = "CIDRs admitted on 5432 for pgAdmin: a tunnel's or VPN's range inside the network (the instance has no public address). Empty by default."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.admin_cidr_blocks : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "admin_cidr_blocks must be valid IPv4 CIDRs, and never 0.0.0.0/0."
  }
}

variable "engine_version" {
  description = "PostgreSQL major version (e.g. \"16\"); the parameter group family follows from it."
  type        = string
  default     = "16"

  validation {
    condition     = can(regex("^1[4-7]$", var.engine_version))
    error_message = "engine_version must be a PostgreSQL major version (14-17) without a minor."
  }
}

variable "backup_window" {
  description = "Daily UTC window for automated backups, hh24:mi-hh24:mi."
  type        = string
  default     = "02:00-03:00"
}

variable "maintenance_window" {
  description = "Weekly UTC maintenance window, ddd:hh24:mi-ddd:hh24:mi (must not overlap backup_window)."
  type        = string
  default     = "sun:04:00-sun:05:00"
}

variable "instance_class" {
  description = "Instance class."
  type        = string
  default     = "db.t4g.micro"
}

variable "allocated_storage" {
  description = "Initial storage in GiB."
  type        = number
  default     = 20

  validation {
    condition     = var.allocated_storage >= 20 && var.allocated_storage <= 65536
    error_message = "allocated_storage must be 20-65536 GiB."
  }
}

variable "max_allocated_storage" {
  description = "Storage autoscaling ceiling in GiB."
  type        = number
  default     = 100
}

variable "database_name" {
  description = "Name of the application database."
  type        = string
  default     = "debugflow"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.database_name))
    error_message = "database_name must be a lower-case PostgreSQL identifier."
  }
}

variable "username" {
  description = "Master user name; its password is generated and kept by RDS in Secrets Manager."
  type        = string
  default     = "debugflow"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.username)) && !contains(["postgres", "admin", "rdsadmin"], var.username)
    error_message = "username must be a lower-case identifier other than postgres, admin or rdsadmin."
  }
}

variable "multi_az" {
  description = "Run a standby in a second availability zone."
  type        = bool
  default     = true
}

variable "backup_retention_days" {
  description = "Days of automated backups."
  type        = number
  default     = 7

  validation {
    condition     = var.backup_retention_days >= 1 && var.backup_retention_days <= 35
    error_message = "backup_retention_days must be 1-35."
  }
}

variable "deletion_protection" {
  description = "Refuse to delete the instance (turn off only for throw-away environments)."
  type        = bool
  default     = true
}

variable "skip_final_snapshot" {
  description = "Delete without a final snapshot (throw-away environments only)."
  type        = bool
  default     = false
}

variable "kms_key_arn" {
  description = "KMS key for storage, Performance Insights, logs and the master secret."
  type        = string
}

variable "log_retention_days" {
  description = "Days to keep the exported PostgreSQL logs."
  type        = number
  default     = 365
}

variable "enable_rds_proxy" {
  description = "Put an RDS Proxy in front of the instance, for when concurrent functions would exhaust its connections."
  type        = bool
  default     = false
}

variable "proxy_max_connections_percent" {
  description = "Share of the instance's max_connections the proxy may open (the rest is left for migrations, pgAdmin and RDS's own sessions). Past it, transactions wait up to proxy_connection_borrow_timeout."
  type        = number
  default     = 75

  validation {
    condition     = var.proxy_max_connections_percent >= 10 && var.proxy_max_connections_percent <= 90
    error_message = "proxy_max_connections_percent must be 10-90, leaving room for direct admin sessions."
  }
}

variable "proxy_max_idle_connections_percent" {
  description = "Share of the instance's max_connections the proxy keeps open while idle, ready for the next burst (at most proxy_max_connections_percent); the rest it closes, giving the instance its memory back."
  type        = number
  default     = 50

  validation {
    condition     = var.proxy_max_idle_connections_percent >= 0 && var.proxy_max_idle_connections_percent <= var.proxy_max_connections_percent
    error_message = "proxy_max_idle_connections_percent must be 0 to proxy_max_connections_percent."
  }
}

variable "proxy_connection_borrow_timeout" {
  description = "Seconds a transaction waits for a free database connection when the proxy holds max_connections_percent; then the proxy refuses and the service answers 503 with Retry-After. As DATABASE_ACQUIRE_TIMEOUT: a user waits at most this long, well inside the function's timeout."
  type        = number
  default     = 10

  validation {
    condition     = var.proxy_connection_borrow_timeout >= 1 && var.proxy_connection_borrow_timeout <= 30
    error_message = "proxy_connection_borrow_timeout must be 1-30 seconds: longer keeps a user (and a function) waiting past any useful answer."
  }
}

variable "app_username" {
  description = "PostgreSQL role the service connects as: DML on the application's tables, no DDL."
  type        = string
  default     = "debugflow_app"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.app_username)) && !contains(["postgres", "admin", "rdsadmin"], var.app_username)
    error_message = "app_username must be a lower-case identifier other than postgres, admin or rdsadmin."
  }
}

variable "app_login_version" {
  description = "Version of the service's generated password: bump it to generate and write a new one (then run the migrate step, which sets it on the role)."
  type        = number
  default     = 1

  validation {
    condition     = var.app_login_version >= 1 && floor(var.app_login_version) == var.app_login_version
    error_message = "app_login_version must be a whole number from 1."
  }
}

variable "app_login_recovery_window_days" {
  description = "Days a deleted login secret can be restored (0: deleted at once, for throw-away stacks)."
  type        = number
  default     = 7

  validation {
    condition     = var.app_login_recovery_window_days == 0 || (var.app_login_recovery_window_days >= 7 && var.app_login_recovery_window_days <= 30)
    error_message = "app_login_recovery_window_days must be 0 or 7-30."
  }
}

variable "proxy_iam_auth" {
  description = "Require IAM authentication at the proxy (REQUIRED) or accept the secret's password (DISABLED)."
  type        = string
  default     = "DISABLED"

  validation {
    condition     = contains(["REQUIRED", "DISABLED"], var.proxy_iam_auth)
    error_message = "proxy_iam_auth must be REQUIRED or DISABLED."
  }
}

variable "tags" {
  description = "Tags added to every resource of the module."
  type        = map(string)
  default     = {}
}
