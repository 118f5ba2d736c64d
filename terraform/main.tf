locals {
  public_subnet_cidrs  = [for i, _ in var.azs : cidrsubnet(var.vpc_cidr, 8, i)]
  private_subnet_cidrs = [for i, _ in var.azs : cidrsubnet(var.vpc_cidr, 8, 100 + i)]
  partition            = data.aws_partition.current.partition
}

data "aws_partition" "current" {}

# One customer-managed key for secrets, the database, the function's
# environment and every log group.
data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_109:a key policy; its "*" resource is this key alone
  #checkov:skip=CKV_AWS_111:a key policy; its "*" resource is this key alone
  #checkov:skip=CKV_AWS_356:a key policy; its "*" resource is this key alone
  statement {
    sid       = "AccountAdministersTheKey"
    actions   = ["kms:*"]
    resources = ["*"] # in a key policy, "*" is this key
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${var.account_id}:root"]
    }
  }

  statement {
    sid = "CloudWatchLogsEncryptsOurLogGroups"
    actions = [
      "kms:Encrypt",
      "kms:Decrypt",
      "kms:ReEncrypt*",
      "kms:GenerateDataKey*",
      "kms:DescribeKey",
    ]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${var.region}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${var.region}:${var.account_id}:log-group:*"]
    }
  }

  # Alarms publish to the encrypted SNS topic; CloudWatch needs the key for that.
  statement {
    sid       = "CloudWatchAlarmsPublishToTheEncryptedTopic"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [var.account_id]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "${var.name}: secrets, database, function environment and logs"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms.json
  tags                    = var.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}-${var.environment}"
  target_key_id = aws_kms_key.this.key_id
}

module "network" {
  source = "./modules/network"

  name                    = "${var.name}-${var.environment}"
  cidr                    = var.vpc_cidr
  azs                     = var.azs
  public_subnet_cidrs     = local.public_subnet_cidrs
  private_subnet_cidrs    = local.private_subnet_cidrs
  account_id              = var.account_id
  single_nat_gateway      = var.single_nat_gateway
  flow_log_retention_days = var.log_retention_days
  kms_key_arn             = aws_kms_key.this.arn
  tags                    = var.tags
}

module "secrets" {
  source = "./modules/secrets"

  name           = "${var.name}-${var.environment}"
  kms_key_arn    = aws_kms_key.this.arn
  values         = var.app_secret_values
  values_version = var.app_secret_values_version
  tags           = var.tags
}

module "database" {
  source = "./modules/database"

  name                     = "${var.name}-${var.environment}"
  vpc_id                   = module.network.vpc_id
  subnet_ids               = module.network.private_subnet_ids
  client_security_group_id = module.function.security_group_id
  admin_cidr_blocks        = var.admin_cidr_blocks
  engine_version           = var.db_engine_version
  instance_class           = var.db_instance_class
  multi_az                 = var.db_multi_az
  backup_retention_days    = var.db_backup_retention_days
  backup_window            = var.db_backup_window
  maintenance_window       = var.db_maintenance_window
  deletion_protection      = var.db_deletion_protection
  skip_final_snapshot      = var.db_skip_final_snapshot
  enable_rds_proxy         = var.enable_rds_proxy
  kms_key_arn              = aws_kms_key.this.arn

  proxy_max_connections_percent      = var.db_proxy_max_connections_percent
  proxy_max_idle_connections_percent = var.db_proxy_max_idle_connections_percent
  proxy_connection_borrow_timeout    = var.db_proxy_connection_borrow_timeout

  log_retention_days = var.log_retention_days
  tags               = var.tags
}

module "function" {
  source = "./modules/function"

  name                        = "${var.name}-${var.environment}"
  region                      = var.region
  aws_cli                     = var.aws_cli
  package_file                = var.package_file
  architecture                = var.architecture
  memory_size                 = var.memory_size
  timeout                     = var.timeout
  reserved_concurrency        = var.reserved_concurrency
  vpc_id                      = module.network.vpc_id
  vpc_cidr                    = module.network.vpc_cidr
  subnet_ids                  = module.network.private_subnet_ids
  invoke_mode                 = var.invoke_mode
  authorization_type          = var.authorization_type
  secrets_extension_layer_arn = var.secrets_extension_layer_arn
  kms_key_arn                 = aws_kms_key.this.arn
  log_retention_days          = var.log_retention_days
  live_version                = var.live_version
  # The master secret is there for the one-off migrate step only; requests
  # connect with the service's own login.
  secret_arns = [module.secrets.arn, module.database.app_login_secret_arn, module.database.master_secret_arn]
  tags        = var.tags

  # Plain settings only: secrets are referenced by ARN and read at first use.
  environment = {
    DATABASE_URL = "postgresql://${module.database.app_username}@${module.database.endpoint}:${module.database.port}/${module.database.database_name}"
    # verify-full on both paths: the instance's certificate chains to the RDS
    # bundle the package ships (the app's default), the proxy's (ACM) to
    # Amazon's root CAs, shipped beside it.
    DATABASE_SSL           = "verify-full"
    DATABASE_SSL_ROOT_CERT = var.enable_rds_proxy ? "/var/task/handler/db/amazon-root-cas.pem" : ""
    DATABASE_POOLER        = var.enable_rds_proxy ? "transaction" : "none"
    # Seconds an idle connection stays open. Through the proxy a few: an idle client
    # holds no database connection there, and a warm container skips reconnecting.
    # Straight to the instance 0: back at the end of each invocation, since a
    # frozen container runs no timer and would hold it while it sleeps.
    DATABASE_IDLE_TIMEOUT     = var.enable_rds_proxy ? "5" : "0"
    DATABASE_SECRET_ARN       = module.database.app_login_secret_arn
    DATABASE_OWNER_SECRET_ARN = module.database.master_secret_arn
    APP_SECRETS_ARN           = module.secrets.arn
    CORS_ORIGINS              = join(",", var.cors_origins)
    HF_MODEL                  = var.hf_model
    HF_FAST_MODEL             = var.hf_fast_model
    PINECONE_INDEX_HOST       = var.pinecone_index_host
    LOG_LEVEL                 = "INFO"
  }
}

module "alarms" {
  source = "./modules/alarms"
  count  = var.alarms_enabled ? 1 : 0

  name                   = "${var.name}-${var.environment}"
  kms_key_arn            = aws_kms_key.this.arn
  email                  = var.alarm_email
  function_name          = module.function.function_name
  function_timeout       = var.timeout
  reserved_concurrency   = var.reserved_concurrency
  db_instance_identifier = module.database.instance_identifier
  nat_gateway_ids        = module.network.nat_gateway_ids
  tags                   = var.tags
}

module "dashboard" {
  source = "./modules/dashboard"
  count  = var.dashboard_enabled ? 1 : 0

  name                   = "${var.name}-${var.environment}"
  region                 = var.region
  function_name          = module.function.function_name
  log_group_name         = module.function.log_group_name
  db_instance_identifier = module.database.instance_identifier
  # The database module names its proxy after the stack, as it does the instance.
  db_proxy_name = var.enable_rds_proxy ? "${var.name}-${var.environment}" : null
  # Built from the names, so the plan shows the whole dashboard before any apply.
  alarm_arns = [
    for alarm in flatten(module.alarms[*].alarm_names) :
    "arn:${local.partition}:cloudwatch:${var.region}:${var.account_id}:alarm:${alarm}"
  ]
}

# A pinned version is served until cleared: every plan and apply says so.
check "live_version_is_the_newest" {
  assert {
    condition     = var.live_version == null
    error_message = "The Function URL serves version ${coalesce(var.live_version, "-")}, pinned by `make rollback` (live.auto.tfvars), with that version's code and environment; the newest, ${module.function.version}, is not live. `make rollback CLEAR=1` serves it."
  }
}
