data "aws_partition" "current" {}

locals {
  exec_wrapper = "/var/task/handler/lambda_runtime/exec-wrapper"
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/aws/lambda/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

# --- network ------------------------------------------------------------------

resource "aws_security_group" "this" {
  name_prefix = "${var.name}-"
  description = "The function: HTTPS out (model, auth, index, endpoints), PostgreSQL inside the VPC"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = var.name })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_egress_rule" "https" {
  security_group_id = aws_security_group.this.id
  description       = "HTTPS to HuggingFace, Google certificates, Pinecone and VPC endpoints"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  tags              = var.tags
}

resource "aws_vpc_security_group_egress_rule" "postgresql" {
  security_group_id = aws_security_group.this.id
  description       = "PostgreSQL (instance or proxy) inside the VPC"
  cidr_ipv4         = var.vpc_cidr
  ip_protocol       = "tcp"
  from_port         = 5432
  to_port           = 5432
  tags              = var.tags
}

# --- permissions ------------------------------------------------------------------

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name_prefix        = "${var.name}-"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "this" {
  #checkov:skip=CKV_AWS_111:only the ENI and X-Ray statements use "*": Lambda manages VPC interfaces through this role and X-Ray has no resource-level permissions
  #checkov:skip=CKV_AWS_356:only the ENI and X-Ray statements use "*": Lambda manages VPC interfaces through this role and X-Ray has no resource-level permissions
  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  statement {
    sid       = "ReadOwnSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = var.secret_arns
  }

  statement {
    sid       = "DecryptSecretsAndEnvironment"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
  }

  # These EC2 and X-Ray actions support no resource-level permissions.
  statement {
    sid = "ManageVpcNetworkInterfaces"
    actions = [
      "ec2:CreateNetworkInterface",
      "ec2:DescribeNetworkInterfaces",
      "ec2:DescribeSubnets",
      "ec2:DeleteNetworkInterface",
      "ec2:AssignPrivateIpAddresses",
      "ec2:UnassignPrivateIpAddresses",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "WriteTraces"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "debugflow-function"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

# --- the function -------------------------------------------------------------------

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:invoked synchronously through its URL; there are no async events for a dead-letter queue
  #checkov:skip=CKV_AWS_272:the zip is reproducible and pinned by source_code_hash; code signing would need an AWS Signer profile
  function_name    = var.name
  role             = aws_iam_role.this.arn
  filename         = var.package_file
  source_code_hash = filebase64sha256(var.package_file)
  runtime          = "python3.12"
  # Never called: the exec wrapper replaces the stock bootstrap with our streaming loop.
  handler                        = "handler.app.lambda_app"
  architectures                  = [var.architecture]
  memory_size                    = var.memory_size
  timeout                        = var.timeout
  reserved_concurrent_executions = var.reserved_concurrency
  layers                         = [var.secrets_extension_layer_arn]
  kms_key_arn                    = var.kms_key_arn

  environment {
    variables = merge(var.environment, {
      AWS_LAMBDA_EXEC_WRAPPER = local.exec_wrapper
      LAMBDA_INVOKE_MODE      = var.invoke_mode
    })
  }

  vpc_config {
    subnet_ids         = var.subnet_ids
    security_group_ids = [aws_security_group.this.id]
  }

  tracing_config {
    mode = "Active"
  }

  logging_config {
    log_format = "Text" # the service writes JSON lines itself
    log_group  = aws_cloudwatch_log_group.this.name
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = (var.architecture == "arm64") == can(regex("-Arm64:", var.secrets_extension_layer_arn))
      error_message = "secrets_extension_layer_arn must be the layer built for the function's architecture (-Arm64 for arm64)."
    }
  }

  depends_on = [aws_iam_role_policy.this, aws_cloudwatch_log_group.this]
}

resource "aws_lambda_function_url" "this" {
  #checkov:skip=CKV_AWS_258:a public browser API; every /api route checks a Firebase ID token in the app
  function_name      = aws_lambda_function.this.function_name
  authorization_type = var.authorization_type
  invoke_mode        = var.invoke_mode
  # No CORS block: the app answers CORS; AWS's headers would duplicate its own.
}

# A public URL needs two statements since October 2025: InvokeFunctionUrl, and
# InvokeFunction. Provider 6.28+ can limit the second with
# `invoked_via_function_url`; with 5.x the narrowest form is the
# lambda:FunctionUrlAuthType = NONE condition, a key that only requests made
# through the function URL carry, so direct Invoke calls stay denied.
resource "aws_lambda_permission" "url" {
  count = var.authorization_type == "NONE" ? 1 : 0

  statement_id           = "FunctionURLAllowPublicAccess"
  action                 = "lambda:InvokeFunctionUrl"
  function_name          = aws_lambda_function.this.function_name
  principal              = "*"
  function_url_auth_type = "NONE"
}

resource "aws_lambda_permission" "url_invoke" {
  count = var.authorization_type == "NONE" ? 1 : 0

  statement_id           = "FunctionURLAllowInvokeAction"
  action                 = "lambda:InvokeFunction"
  function_name          = aws_lambda_function.this.function_name
  principal              = "*"
  function_url_auth_type = "NONE"

  # One policy change at a time: both statements edit the same resource policy.
  depends_on = [aws_lambda_permission.url]
}
