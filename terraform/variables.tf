# --- where ---------------------------------------------------------------------

variable "region" {
  description = "AWS region to deploy into."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must look like eu-west-1."
  }
}

variable "account_id" {
  description = "AWS account id (12 digits); taken as input so that plans need no AWS call."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be 12 digits."
  }
}

variable "name" {
  description = "Name of the deployment; prefixes every resource."
  type        = string
  default     = "debugflow"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.name))
    error_message = "name must be 2-21 lower-case letters, digits or hyphens, starting with a letter."
  }
}

variable "environment" {
  description = "Environment name, tagged on every resource (e.g. prod, staging, dev)."
  type        = string
  default     = "prod"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,15}$", var.environment))
    error_message = "environment must be a short lower-case name."
  }
}

variable "tags" {
  description = "Extra tags for every resource (Project, Environment and ManagedBy are always set)."
  type        = map(string)
  default     = {}
}

# --- network ---------------------------------------------------------------------

variable "azs" {
  description = "Availability zones (at least two) of the region."
  type        = list(string)

  validation {
    condition     = length(var.azs) >= 2
    error_message = "azs must list at least two availability zones."
  }
}

variable "vpc_cidr" {
  description = "CIDR of the VPC; subnets are carved from it (/24 each)."
  type        = string
  default     = "10.20.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && tonumber(split("/", var.vpc_cidr)[1]) <= 20
    error_message = "vpc_cidr must be a valid IPv4 CIDR of /20 or larger."
  }
}

variable "single_nat_gateway" {
  description = "One shared NAT gateway (cheaper) instead of one per availability zone."
  type        = bool
  default     = false
}

# --- database -----------------------------------------------------------------------

variable "db_instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.t4g.micro"

  validation {
    condition     = startswith(var.db_instance_class, "db.")
    error_message = "db_instance_class must be an RDS class such as db.t4g.micro."
  }
}

variable "db_multi_az" {
  description = "Keep a standby in a second availability zone."
  type        = bool
  default     = true
}

variable "db_deletion_protection" {
  description = "Refuse to delete the database (false only for throw-away environments)."
  type        = bool
  default     = true
}

variable "db_skip_final_snapshot" {
  description = "Delete the database without a final snapshot (throw-away environments only)."
  type        = bool
  default     = false
}

variable "db_backup_retention_days" {
  description = "Days of automated backups."
  type        = number
  default     = 7

  validation {
    condition     = var.db_backup_retention_days >= 1 && var.db_backup_retention_days <= 35
    error_message = "db_backup_retention_days must be 1-35."
  }
}

variable "admin_cidr_blocks" {
  description = "CIDRs allowed to reach PostgreSQL for pgAdmin (a tunnel or VPN range). Empty: none."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.admin_cidr_blocks : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "admin_cidr_blocks must be valid IPv4 CIDRs, never 0.0.0.0/0."
  }
}

variable "enable_rds_proxy" {
  description = "Route the function through an RDS Proxy (for high concurrency)."
  type        = bool
  default     = false
}

# --- function -------------------------------------------------------------------------

variable "package_file" {
  description = "The deployment zip from `make package`."
  type        = string
  default     = "../dist/deploy.zip"

  validation {
    condition     = endswith(var.package_file, ".zip")
    error_message = "package_file must be the .zip built by `make package`."
  }
}

variable "architecture" {
  description = "Function architecture; build the package with the same --arch."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "memory_size" {
  description = "Function memory in MB."
  type        = number
  default     = 512

  validation {
    condition     = var.memory_size >= 256 && var.memory_size <= 10240
    error_message = "memory_size must be 256-10240 MB."
  }
}

variable "timeout" {
  description = "Function timeout in seconds (60-120): a whole streamed answer must fit."
  type        = number
  default     = 90

  validation {
    condition     = var.timeout >= 60 && var.timeout <= 120
    error_message = "timeout must be 60-120 seconds."
  }
}

variable "reserved_concurrency" {
  description = "Most function containers at once (each holds up to 2 database connections)."
  type        = number
  default     = 10

  validation {
    condition     = var.reserved_concurrency >= 1 && var.reserved_concurrency <= 1000
    error_message = "reserved_concurrency must be 1-1000."
  }
}

variable "invoke_mode" {
  description = "Function URL invoke mode: RESPONSE_STREAM for word-by-word answers, or BUFFERED."
  type        = string
  default     = "RESPONSE_STREAM"

  validation {
    condition     = contains(["RESPONSE_STREAM", "BUFFERED"], var.invoke_mode)
    error_message = "invoke_mode must be RESPONSE_STREAM or BUFFERED."
  }
}

variable "authorization_type" {
  description = "Function URL auth: NONE (public; the app checks Firebase tokens) or AWS_IAM."
  type        = string
  default     = "NONE"

  validation {
    condition     = contains(["NONE", "AWS_IAM"], var.authorization_type)
    error_message = "authorization_type must be NONE or AWS_IAM."
  }
}

variable "secrets_extension_layer_arn" {
  description = "AWS Parameters and Secrets Lambda Extension layer for the region and architecture (see AWS's table)."
  type        = string
}

variable "log_retention_days" {
  description = "Days to keep function, database and flow logs."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts."
  }
}

# --- the service -------------------------------------------------------------------------

variable "cors_origins" {
  description = "Origins of the front end allowed by CORS (no wildcard: credentials are allowed)."
  type        = list(string)

  validation {
    condition     = length(var.cors_origins) > 0 && alltrue([for o in var.cors_origins : can(regex("^https?://[^/*]+$", o))])
    error_message = "cors_origins must be scheme://host[:port] origins, without paths or wildcards."
  }
}

variable "hf_model" {
  description = "HuggingFace model for answers."
  type        = string
  default     = "meta-llama/Llama-3.1-8B-Instruct"
}

variable "hf_fast_model" {
  description = "HuggingFace model for titles and summaries."
  type        = string
  default     = "meta-llama/Llama-3.2-1B-Instruct"
}

variable "pinecone_index_host" {
  description = "Pinecone index host; empty uses pgvector in the database (then leave PINECONE_API_KEY out of the secret)."
  type        = string
  default     = ""
}

variable "app_secret_values" {
  description = "HUGGINGFACE_API_KEY, PINECONE_API_KEY, FIREBASE_PROJECT_ID. Null: put them with the AWS CLI instead (kept out of state)."
  type        = map(string)
  default     = null
  sensitive   = true
}
