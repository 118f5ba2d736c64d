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

locals {
  # build.py writes <zip>.json with the target it built for; a zip built for
  # another architecture or Python would fail at its first cold start.
  manifest_file = "${var.package_file}.json"
  manifest      = fileexists(local.manifest_file) ? jsondecode(file(local.manifest_file)) : null
  runtime       = "python3.12"
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:invoked synchronously through its URL; there are no async events for a dead-letter queue
  #checkov:skip=CKV_AWS_272:the zip is reproducible and pinned by source_code_hash; code signing would need an AWS Signer profile
  function_name = var.name
  role          = aws_iam_role.this.arn
  filename      = var.package_file
  # Destroy must not need the zip (a fresh checkout has none); apply checks it exists below.
  source_code_hash = fileexists(var.package_file) ? filebase64sha256(var.package_file) : null
  runtime          = local.runtime
  # Never called: the exec wrapper replaces the stock bootstrap with our streaming loop.
  handler                        = "handler.app.lambda_app"
  architectures                  = [var.architecture]
  memory_size                    = var.memory_size
  timeout                        = var.timeout
  reserved_concurrent_executions = var.reserved_concurrency == null ? -1 : var.reserved_concurrency
  layers                         = [var.secrets_extension_layer_arn]
  kms_key_arn                    = var.kms_key_arn
  # Every change of code or configuration becomes a numbered version: the
  # `live` alias (and so the URL) points at one, and `make rollback` at the one before.
  publish = true

  environment {
    variables = merge(var.environment, {
      AWS_LAMBDA_EXEC_WRAPPER = local.exec_wrapper
      LAMBDA_INVOKE_MODE      = var.invoke_mode
      # A fixed mmap threshold keeps glibc from moving asyncio's 256 KiB read
      # buffers onto the heap, whose fragments grew RSS for as long as a
      # container lived (docs/deploy.md#native-memory; devtools/native_heap.py).
      MALLOC_MMAP_THRESHOLD_ = "131072"
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
      condition     = fileexists(var.package_file)
      error_message = "package_file ${var.package_file} does not exist: run `make package` first."
    }
    precondition {
      condition     = (var.architecture == "arm64") == can(regex("-Arm64:", var.secrets_extension_layer_arn))
      error_message = "secrets_extension_layer_arn must be the layer built for the function's architecture (-Arm64 for arm64)."
    }
    precondition {
      condition = local.manifest == null ? true : (
        try(local.manifest.architecture, "") == var.architecture &&
        "python${try(local.manifest.python_version, "")}" == local.runtime
      )
      error_message = "The package was built for ${try(local.manifest.architecture, "?")} / python${try(local.manifest.python_version, "?")} (${local.manifest_file}), but the function runs ${var.architecture} / ${local.runtime}: rebuild with `make package ARGS=\"--arch ${var.architecture}\"` or set architecture to match."
    }
  }

  depends_on = [aws_iam_role_policy.this, aws_cloudwatch_log_group.this]
}

# The URL serves this alias, never $LATEST: a deploy moves it to the new
# version unless live_version holds it on an older one (`make rollback`, see
# docs/deploy.md).
resource "aws_lambda_alias" "live" {
  name             = "live"
  description      = "The version the Function URL serves"
  function_name    = aws_lambda_function.this.function_name
  function_version = coalesce(var.live_version, aws_lambda_function.this.version)

  lifecycle {
    precondition {
      condition     = var.live_version == null ? true : tonumber(var.live_version) <= tonumber(aws_lambda_function.this.version)
      error_message = "live_version ${coalesce(var.live_version, "-")} is newer than the newest published version: clear it with `make rollback CLEAR=1`."
    }
  }
}

resource "aws_lambda_function_url" "this" {
  #checkov:skip=CKV_AWS_258:a public browser API; every /api route checks a Firebase ID token in the app
  function_name      = aws_lambda_function.this.function_name
  qualifier          = aws_lambda_alias.live.name
  authorization_type = var.authorization_type
  invoke_mode        = var.invoke_mode
  # No CORS block: the app answers CORS; AWS's headers would duplicate its own.
}

# A public URL needs two resource-policy statements since October 2025
# (https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html):
#  1. lambda:InvokeFunctionUrl with lambda:FunctionUrlAuthType = NONE. Provider
#     5.x's aws_lambda_function_url adds it itself (Sid FunctionURLAllowPublicAccess,
#     on the alias); declaring it again collides on that Sid.
#  2. lambda:InvokeFunction with lambda:InvokedViaFunctionUrl = true. Provider
#     5.x cannot express it: its aws_lambda_permission only has
#     function_url_auth_type, which AWS accepts for lambda:InvokeFunctionUrl
#     alone (400 otherwise). The AWS CLI can (--invoked-via-function-url), so it
#     is added here and removed on destroy. Provider >= 6.28 adds it with the
#     URL itself (and offers invoked_via_function_url); see README.md.
resource "terraform_data" "invoke_via_url" {
  count = var.authorization_type == "NONE" ? 1 : 0

  triggers_replace = [aws_lambda_function_url.this.id]
  input = {
    script    = "${path.module}/scripts/invoke-via-url-permission.sh"
    aws_cli   = var.aws_cli
    region    = var.region
    function  = aws_lambda_function.this.function_name
    qualifier = aws_lambda_alias.live.name
    sid       = "FunctionURLAllowInvokeAction"
  }

  provisioner "local-exec" {
    command = "sh '${self.input.script}' add"
    environment = {
      AWS_CLI       = self.input.aws_cli
      AWS_REGION    = self.input.region
      FUNCTION_NAME = self.input.function
      QUALIFIER     = self.input.qualifier
      STATEMENT_ID  = self.input.sid
    }
  }

  provisioner "local-exec" {
    when    = destroy
    command = "sh '${self.input.script}' remove"
    environment = {
      AWS_CLI       = self.input.aws_cli
      AWS_REGION    = self.input.region
      FUNCTION_NAME = self.input.function
      QUALIFIER     = self.input.qualifier
      STATEMENT_ID  = self.input.sid
    }
  }
}
