variable "name" {
  description = "Function name; also names its role, log group and security group."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9-_]{1,64}$", var.name))
    error_message = "name must be 1-64 letters, digits, hyphens or underscores."
  }
}

variable "package_file" {
  description = "Path of the deployment zip built by `make package` (dist/deploy.zip)."
  type        = string
}

variable "architecture" {
  description = "Instruction set: x86_64 or arm64 (build the package for the same one)."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "memory_size" {
  description = "Memory in MB (CPU scales with it)."
  type        = number
  default     = 512

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "memory_size must be 128-10240 MB."
  }
}

variable "timeout" {
  description = "Seconds an invocation may run; long enough for a whole streamed answer."
  type        = number
  default     = 90

  validation {
    condition     = var.timeout >= 60 && var.timeout <= 120
    error_message = "timeout must be 60-120 seconds: shorter cuts answers off, longer holds connections."
  }
}

variable "reserved_concurrency" {
  description = "Containers reserved for (and at most running) the function; each holds up to 2 database connections. Null: no reservation (new accounts often cannot reserve any)."
  type        = number
  default     = null

  validation {
    condition     = var.reserved_concurrency == null ? true : (var.reserved_concurrency >= 1 && var.reserved_concurrency <= 1000 && floor(var.reserved_concurrency) == var.reserved_concurrency)
    error_message = "reserved_concurrency must be null or a whole number 1-1000."
  }
}

variable "live_version" {
  description = "Version the `live` alias (and so the URL) serves; null: the one this apply published."
  type        = string
  default     = null

  validation {
    condition     = var.live_version == null ? true : can(regex("^[1-9][0-9]*$", var.live_version))
    error_message = "live_version must be null or a version number."
  }
}

variable "region" {
  description = "Region of the function (the AWS CLI call that adds the URL's second permission needs it)."
  type        = string
}

variable "aws_cli" {
  description = "AWS CLI command used for the URL's second permission (provider 5.x cannot express it); must support --invoked-via-function-url."
  type        = string
  default     = "aws"
}

variable "vpc_id" {
  description = "VPC the function runs in."
  type        = string
}

variable "vpc_cidr" {
  description = "CIDR of that VPC: the function may reach PostgreSQL only inside it."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets (with a NAT route for HuggingFace, Google and Pinecone)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "subnet_ids must name at least two private subnets."
  }
}

variable "environment" {
  description = "Plain (non-secret) settings of the service, e.g. DATABASE_URL without password, CORS_ORIGINS."
  type        = map(string)
  default     = {}
}

variable "secret_arns" {
  description = "Secrets the function may read, and nothing else."
  type        = list(string)
}

variable "kms_key_arn" {
  description = "KMS key of the secrets, the environment and the log group."
  type        = string
}

variable "secrets_extension_layer_arn" {
  description = "ARN of the AWS Parameters and Secrets Lambda Extension layer for the region and architecture."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:layer:AWS-Parameters-and-Secrets-Lambda-Extension(-Arm64)?:[0-9]+$", var.secrets_extension_layer_arn))
    error_message = "secrets_extension_layer_arn must be an AWS-Parameters-and-Secrets-Lambda-Extension layer version ARN."
  }
}

variable "invoke_mode" {
  description = "Function URL invoke mode: RESPONSE_STREAM (word-by-word answers) or BUFFERED."
  type        = string
  default     = "RESPONSE_STREAM"

  validation {
    condition     = contains(["RESPONSE_STREAM", "BUFFERED"], var.invoke_mode)
    error_message = "invoke_mode must be RESPONSE_STREAM or BUFFERED."
  }
}

variable "authorization_type" {
  description = "Function URL auth: NONE (public; the app checks Firebase tokens) or AWS_IAM (SigV4 callers only)."
  type        = string
  default     = "NONE"

  validation {
    condition     = contains(["NONE", "AWS_IAM"], var.authorization_type)
    error_message = "authorization_type must be NONE or AWS_IAM."
  }
}

variable "log_retention_days" {
  description = "Days to keep the function's logs."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Tags added to every resource of the module."
  type        = map(string)
  default     = {}
}
