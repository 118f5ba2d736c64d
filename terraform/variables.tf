# --- where ---------------------------------------------------------------------

variable "region" {
  description = "AWS region to deploy into."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must look like eu-west-1."
  }
}

variable "aws_cli" {
  description = "AWS CLI command for the Function URL's second permission (provider 5.x cannot express it). It must know --invoked-via-function-url (see `aws lambda add-permission help`) and use the same credentials and account as Terraform."
  type        = string
  default     = "aws"
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
  description = "Availability zones (at least two, distinct) of the region, e.g. [\"eu-west-1a\", \"eu-west-1b\"]."
  type        = list(string)

  validation {
    condition     = length(var.azs) >= 2 && length(distinct(var.azs)) == length(var.azs)
    error_message = "azs must list at least two distinct availability zones."
  }

  # A zone of another region plans cleanly and fails half-way through apply.
  validation {
    condition     = alltrue([for az in var.azs : can(regex("^${var.region}[a-z]$", az))])
    error_message = "azs must be zones of the region (e.g. ${var.region}a, ${var.region}b)."
  }
}

variable "vpc_cidr" {
  description = "CIDR of the VPC; subnets are carved from it (/24 each)."
  type        = string
  default     = "10.20.0.0/16"

  validation {
    # Subnets are cidrsubnet(vpc_cidr, 8, n): /24s in a /16, /28s (AWS's smallest) in a /20.
    # AWS VPCs are /16 to /28; the network address must be the CIDR's own.
    condition = (
      can(cidrhost(var.vpc_cidr, 0)) &&
      can(tonumber(split("/", var.vpc_cidr)[1])) &&
      try(tonumber(split("/", var.vpc_cidr)[1]) >= 16 && tonumber(split("/", var.vpc_cidr)[1]) <= 20, false) &&
      try(cidrhost(var.vpc_cidr, 0) == split("/", var.vpc_cidr)[0], false)
    )
    error_message = "vpc_cidr must be an IPv4 network from /16 to /20 written with its network address (e.g. 10.20.0.0/16): subnets are 8 bits longer, and AWS subnets are /28 at the smallest."
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

variable "db_engine_version" {
  description = "PostgreSQL major version; RDS picks the current minor and upgrades minors itself (a pinned minor is eventually retired and fights those upgrades)."
  type        = string
  default     = "16"

  validation {
    condition     = can(regex("^1[4-7]$", var.db_engine_version))
    error_message = "db_engine_version must be a PostgreSQL major version (14-17), e.g. \"16\", without a minor."
  }
}

variable "db_backup_window" {
  description = "Daily UTC window for automated backups (hh24:mi-hh24:mi, at least 30 minutes, not overlapping the maintenance window)."
  type        = string
  default     = "02:00-03:00"

  validation {
    condition     = can(regex("^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$", var.db_backup_window))
    error_message = "db_backup_window must look like 02:00-03:00 (UTC)."
  }
}

variable "db_maintenance_window" {
  description = "Weekly UTC window for RDS maintenance such as minor upgrades (ddd:hh24:mi-ddd:hh24:mi)."
  type        = string
  default     = "sun:04:00-sun:05:00"

  validation {
    condition     = can(regex("^(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):[0-5][0-9]-(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):[0-5][0-9]$", var.db_maintenance_window))
    error_message = "db_maintenance_window must look like sun:04:00-sun:05:00 (UTC)."
  }
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
  description = "Route the function through an RDS Proxy (the production default): containers then share a few database connections instead of holding their own, and the service runs in transaction-pooling mode. False only for small or throw-away stacks (about USD 22 a month saved on a t4g.micro; see docs/deploy.md)."
  type        = bool
  default     = true
}

variable "db_proxy_max_connections_percent" {
  description = "Share of the instance's max_connections the RDS Proxy may open; the rest stays for migrations, pgAdmin and RDS's own sessions (docs/deploy.md, Capacity)."
  type        = number
  default     = 75

  validation {
    condition     = var.db_proxy_max_connections_percent >= 10 && var.db_proxy_max_connections_percent <= 90
    error_message = "db_proxy_max_connections_percent must be 10-90."
  }
}

variable "db_proxy_max_idle_connections_percent" {
  description = "Share of the instance's max_connections the RDS Proxy keeps open while idle (at most db_proxy_max_connections_percent)."
  type        = number
  default     = 50

  validation {
    condition     = var.db_proxy_max_idle_connections_percent >= 0 && var.db_proxy_max_idle_connections_percent <= 90
    error_message = "db_proxy_max_idle_connections_percent must be 0-90."
  }
}

variable "db_proxy_connection_borrow_timeout" {
  description = "Seconds a transaction waits for a free database connection in the RDS Proxy before it is refused (the service then answers 503); keep it at or below DATABASE_ACQUIRE_TIMEOUT (10 s)."
  type        = number
  default     = 10

  validation {
    condition     = var.db_proxy_connection_borrow_timeout >= 1 && var.db_proxy_connection_borrow_timeout <= 30
    error_message = "db_proxy_connection_borrow_timeout must be 1-30 seconds."
  }
}

# --- function -------------------------------------------------------------------------

variable "live_version" {
  description = "Function version the URL serves. Null (default): the newest, published by this apply. `make rollback` sets it in live.auto.tfvars, so later applies keep serving it until `make rollback CLEAR=1`."
  type        = string
  default     = null

  validation {
    condition     = var.live_version == null ? true : can(regex("^[1-9][0-9]*$", var.live_version))
    error_message = "live_version must be null or a published version number such as \"3\"."
  }
}

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
  description = "Containers reserved for the function, and its ceiling (each holds up to 2 database connections). Null (default): none reserved; AWS refuses a reservation that leaves the account fewer than 100 unreserved, which new accounts (quota 10) always hit. See docs/deploy.md."
  type        = number
  default     = null

  validation {
    condition     = var.reserved_concurrency == null ? true : (var.reserved_concurrency >= 1 && var.reserved_concurrency <= 1000 && floor(var.reserved_concurrency) == var.reserved_concurrency)
    error_message = "reserved_concurrency must be null or a whole number 1-1000."
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

  # Layers are regional: another region's ARN plans cleanly and fails at CreateFunction.
  validation {
    condition     = try(split(":", var.secrets_extension_layer_arn)[3] == var.region, false)
    error_message = "secrets_extension_layer_arn must be the layer of the deployment's region (${var.region})."
  }
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
  description = "HUGGINGFACE_API_KEY, PINECONE_API_KEY, FIREBASE_PROJECT_ID, TAVILY_API_KEY (optional: web search), written write-only (never in plan or state) when app_secret_values_version > 0. Null: put them with the AWS CLI instead."
  type        = map(string)
  default     = null
  sensitive   = true
  ephemeral   = true
}

variable "app_secret_values_version" {
  description = "0 (default): Terraform leaves the application secret's value to the AWS CLI. 1 or more: write app_secret_values; bump it to write them again (write-only values leave nothing in state to compare)."
  type        = number
  default     = 0

  validation {
    condition     = var.app_secret_values_version >= 0 && floor(var.app_secret_values_version) == var.app_secret_values_version
    error_message = "app_secret_values_version must be a whole number from 0."
  }
}

# --- alarms ----------------------------------------------------------------------------

variable "alarms_enabled" {
  description = "Create the CloudWatch alarms and their SNS topic (opt out for throw-away stacks)."
  type        = bool
  default     = true
}

variable "alarm_email" {
  description = "Address subscribed to the alarm topic (AWS mails a confirmation link first). Null: subscribe yourself."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_email == null ? true : can(regex("^[^@[:space:]]+@[^@[:space:]]+\\.[^@[:space:]]+$", var.alarm_email))
    error_message = "alarm_email must be an e-mail address."
  }
}

# --- dashboard -------------------------------------------------------------------------

variable "dashboard_enabled" {
  description = "Create the CloudWatch dashboard of the app's metrics beside the function's and the database's."
  type        = bool
  default     = true
}
