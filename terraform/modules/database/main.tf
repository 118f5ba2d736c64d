data "aws_partition" "current" {}

locals {
  # What the function connects to: the proxy when there is one, else the instance.
  endpoint = var.enable_rds_proxy ? aws_db_proxy.this[0].endpoint : aws_db_instance.this.address
}

resource "aws_db_subnet_group" "this" {
  name_prefix = "${var.name}-"
  description = "Private subnets of ${var.name}"
  subnet_ids  = var.subnet_ids
  tags        = var.tags
}

resource "aws_security_group" "database" {
  name_prefix = "${var.name}-db-"
  description = "PostgreSQL from the function (and the proxy and admin CIDRs when enabled)"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-db" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "from_function" {
  security_group_id            = aws_security_group.database.id
  description                  = "PostgreSQL from the function"
  referenced_security_group_id = var.client_security_group_id
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  tags                         = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "from_admin" {
  for_each = toset(var.admin_cidr_blocks)

  security_group_id = aws_security_group.database.id
  description       = "PostgreSQL for pgAdmin from ${each.value}"
  cidr_ipv4         = each.value
  ip_protocol       = "tcp"
  from_port         = 5432
  to_port           = 5432
  tags              = var.tags
}

# TLS only, and enough logging to see slow and failed statements.
resource "aws_db_parameter_group" "this" {
  name_prefix = "${var.name}-pg${var.engine_version}-"
  family      = "postgres${var.engine_version}"
  description = "TLS-only PostgreSQL for ${var.name}"
  tags        = var.tags

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  parameter {
    name  = "log_min_duration_statement"
    value = "1000"
  }

  # Slow statements are logged, but never their bind parameters (chat text
  # would otherwise sit in CloudWatch for the whole log retention).
  parameter {
    name  = "log_parameter_max_length"
    value = "0"
  }

  parameter {
    name  = "log_connections"
    value = "1"
  }

  parameter {
    name  = "log_disconnections"
    value = "1"
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_cloudwatch_log_group" "postgresql" {
  for_each = toset(["postgresql", "upgrade"])

  name              = "/aws/rds/instance/${var.name}/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

data "aws_iam_policy_document" "monitoring_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "monitoring" {
  name_prefix        = "${var.name}-rds-monitoring-"
  assume_role_policy = data.aws_iam_policy_document.monitoring_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "monitoring" {
  role       = aws_iam_role.monitoring.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

# Fixed when the instance is created, so every stack (and so every destroy)
# has its own final snapshot name: a re-created stack never collides with the
# snapshot its predecessor left (DBSnapshotAlreadyExists).
resource "terraform_data" "snapshot_suffix" {
  input = formatdate("YYYYMMDDhhmmss", plantimestamp())

  lifecycle {
    ignore_changes = [input]
  }
}

resource "aws_db_instance" "this" {
  identifier = var.name
  engine     = "postgres"
  # Major only: RDS picks the current minor and auto_minor_version_upgrade
  # moves it; the provider does not report the newer minor as drift.
  engine_version = var.engine_version
  instance_class = var.instance_class

  db_name  = var.database_name
  username = var.username
  # RDS generates the password and keeps it (and its rotation) in Secrets Manager.
  manage_master_user_password   = true
  master_user_secret_kms_key_id = var.kms_key_arn

  allocated_storage     = var.allocated_storage
  max_allocated_storage = var.max_allocated_storage
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = var.kms_key_arn

  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = [aws_security_group.database.id]
  publicly_accessible    = false
  parameter_group_name   = aws_db_parameter_group.this.name
  multi_az               = var.multi_az

  iam_database_authentication_enabled = true
  auto_minor_version_upgrade          = true
  copy_tags_to_snapshot               = true
  backup_retention_period             = var.backup_retention_days
  backup_window                       = var.backup_window
  maintenance_window                  = var.maintenance_window
  deletion_protection                 = var.deletion_protection
  skip_final_snapshot                 = var.skip_final_snapshot
  final_snapshot_identifier           = var.skip_final_snapshot ? null : "${var.name}-final-${terraform_data.snapshot_suffix.output}"

  performance_insights_enabled          = true
  performance_insights_kms_key_id       = var.kms_key_arn
  performance_insights_retention_period = 7
  monitoring_interval                   = 60
  monitoring_role_arn                   = aws_iam_role.monitoring.arn
  enabled_cloudwatch_logs_exports       = ["postgresql", "upgrade"]

  tags = var.tags

  depends_on = [aws_cloudwatch_log_group.postgresql]
}

# --- the service's own login ----------------------------------------------------
# The function connects as app_username, which may read and write rows but owns
# nothing: CREATE, ALTER and DROP are refused. Migrations run as the master user
# (the owner), and that step also creates the role, grants it DML and sets its
# password from this secret (handler/db/app_role.py). The password is generated
# by Secrets Manager and written write-only: it is in neither plan nor state.
ephemeral "aws_secretsmanager_random_password" "app" {
  password_length     = 40
  exclude_punctuation = true # safe in a libpq URL and a shell, still 238 bits
}

resource "aws_secretsmanager_secret" "app_login" {
  #checkov:skip=CKV2_AWS_57:rotated by bumping app_login_version and re-running the migrate step, which sets the role's password from it (docs/deploy.md)
  name_prefix             = "${var.name}-app-login-"
  description             = "PostgreSQL login of the service (${var.app_username}): DML only, no DDL"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.app_login_recovery_window_days
  tags                    = var.tags
}

resource "aws_secretsmanager_secret_version" "app_login" {
  secret_id = aws_secretsmanager_secret.app_login.id
  secret_string_wo = jsonencode({
    engine   = "postgres"
    username = var.app_username
    password = ephemeral.aws_secretsmanager_random_password.app.random_password
  })
  secret_string_wo_version = var.app_login_version
}

# --- optional RDS Proxy -------------------------------------------------------

resource "aws_security_group" "proxy" {
  #checkov:skip=CKV2_AWS_5:attached to aws_db_proxy.this (both exist only with enable_rds_proxy)
  count = var.enable_rds_proxy ? 1 : 0

  name_prefix = "${var.name}-proxy-"
  description = "PostgreSQL from the function to the proxy"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-proxy" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "proxy_from_function" {
  count = var.enable_rds_proxy ? 1 : 0

  security_group_id            = aws_security_group.proxy[0].id
  description                  = "PostgreSQL from the function"
  referenced_security_group_id = var.client_security_group_id
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  tags                         = var.tags
}

resource "aws_vpc_security_group_egress_rule" "proxy_to_database" {
  count = var.enable_rds_proxy ? 1 : 0

  security_group_id            = aws_security_group.proxy[0].id
  description                  = "PostgreSQL to the instance"
  referenced_security_group_id = aws_security_group.database.id
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  tags                         = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "from_proxy" {
  count = var.enable_rds_proxy ? 1 : 0

  security_group_id            = aws_security_group.database.id
  description                  = "PostgreSQL from the RDS Proxy"
  referenced_security_group_id = aws_security_group.proxy[0].id
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  tags                         = var.tags
}

data "aws_iam_policy_document" "proxy_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["rds.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "proxy" {
  count = var.enable_rds_proxy ? 1 : 0

  name_prefix        = "${var.name}-proxy-"
  assume_role_policy = data.aws_iam_policy_document.proxy_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "proxy" {
  statement {
    sid     = "ReadTheLoginSecrets"
    actions = ["secretsmanager:GetSecretValue"]
    resources = [
      aws_db_instance.this.master_user_secret[0].secret_arn,
      aws_secretsmanager_secret.app_login.arn,
    ]
  }

  statement {
    sid       = "DecryptIt"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role_policy" "proxy" {
  count = var.enable_rds_proxy ? 1 : 0

  name   = "read-master-secret"
  role   = aws_iam_role.proxy[0].id
  policy = data.aws_iam_policy_document.proxy.json
}

resource "aws_db_proxy" "this" {
  count = var.enable_rds_proxy ? 1 : 0

  name                   = var.name
  engine_family          = "POSTGRESQL"
  require_tls            = true
  role_arn               = aws_iam_role.proxy[0].arn
  vpc_subnet_ids         = var.subnet_ids
  vpc_security_group_ids = [aws_security_group.proxy[0].id]
  idle_client_timeout    = 900
  tags                   = var.tags

  # The proxy admits exactly the logins it can read: the service's, and the
  # master's for the migrate step. RDS's rotation of the master secret is picked
  # up by the proxy itself.
  auth {
    auth_scheme = "SECRETS"
    iam_auth    = var.proxy_iam_auth
    secret_arn  = aws_secretsmanager_secret.app_login.arn
    description = "The service's login (${var.app_username})"
  }

  auth {
    auth_scheme = "SECRETS"
    iam_auth    = var.proxy_iam_auth
    secret_arn  = aws_db_instance.this.master_user_secret[0].secret_arn
    description = "The RDS-managed master credentials (migrations)"
  }
}

resource "aws_db_proxy_default_target_group" "this" {
  count = var.enable_rds_proxy ? 1 : 0

  db_proxy_name = aws_db_proxy.this[0].name

  # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy-connections.html
  connection_pool_config {
    max_connections_percent      = var.proxy_max_connections_percent
    max_idle_connections_percent = var.proxy_max_idle_connections_percent
    connection_borrow_timeout    = var.proxy_connection_borrow_timeout
  }
}

resource "aws_db_proxy_target" "this" {
  count = var.enable_rds_proxy ? 1 : 0

  db_proxy_name          = aws_db_proxy.this[0].name
  target_group_name      = aws_db_proxy_default_target_group.this[0].name
  db_instance_identifier = aws_db_instance.this.identifier
}
