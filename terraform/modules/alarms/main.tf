locals {
  actions = [aws_sns_topic.alarms.arn]
  # Five-minute periods: fine enough to page on, coarse enough not to flap.
  period = 300
}

resource "aws_sns_topic" "alarms" {
  name              = "${var.name}-alarms"
  kms_master_key_id = var.kms_key_arn # the key lets CloudWatch publish (root main.tf)
  tags              = var.tags
}

resource "aws_sns_topic_subscription" "email" {
  count = var.email == null ? 0 : 1

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.email
}

# --- the function -----------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "function_errors" {
  alarm_name          = "${var.name}-function-errors"
  alarm_description   = "The function failed invocations (crashes, timeouts, init failures): see its log group."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = var.function_name }
  statistic           = "Sum"
  period              = local.period
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = var.function_errors_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "function_throttles" {
  alarm_name          = "${var.name}-function-throttles"
  alarm_description   = "Requests were refused for lack of concurrency (429 to browsers): raise reserved_concurrency or the account quota."
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = { FunctionName = var.function_name }
  statistic           = "Sum"
  period              = local.period
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "function_duration" {
  alarm_name          = "${var.name}-function-duration"
  alarm_description   = "An invocation came within 10% of the ${var.function_timeout} s timeout: answers are about to be cut short."
  namespace           = "AWS/Lambda"
  metric_name         = "Duration"
  dimensions          = { FunctionName = var.function_name }
  statistic           = "Maximum"
  period              = local.period
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = var.function_timeout * 1000 * 0.9
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "function_concurrency" {
  count = var.reserved_concurrency == null ? 0 : 1

  alarm_name          = "${var.name}-function-concurrency"
  alarm_description   = "Concurrent executions reached 80% of the ${var.reserved_concurrency} reserved: throttling is next."
  namespace           = "AWS/Lambda"
  metric_name         = "ConcurrentExecutions"
  dimensions          = { FunctionName = var.function_name }
  statistic           = "Maximum"
  period              = local.period
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = ceil(var.reserved_concurrency * 0.8)
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags
}

# --- the app's own metrics (EMF lines, handler/metrics.py) ----------------------------
# A streamed response is a successful invocation whatever status it carries, so
# only the app can count the errors users see. Metrics from logs arrive late and
# in parts: M out of N datapoints, as AWS advises for EMF alarms.

resource "aws_cloudwatch_metric_alarm" "app_server_errors" {
  alarm_name          = "${var.name}-app-5xx"
  alarm_description   = "The app answered ${var.server_errors_threshold} or more 5xx in five minutes (the dashboard shows which routes; 503s are database refusals)."
  namespace           = var.metrics_namespace
  metric_name         = "ServerErrors"
  dimensions          = { Service = var.function_name }
  statistic           = "Sum"
  period              = local.period
  evaluation_periods  = 2
  datapoints_to_alarm = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = var.server_errors_threshold
  treat_missing_data  = "notBreaching" # no line with ServerErrors: none happened
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "time_to_first_token" {
  alarm_name          = "${var.name}-time-to-first-token"
  alarm_description   = "One answer in ten waited more than ${var.time_to_first_token_p90_ms} ms for its first token, in 2 of the last 3 five-minute periods (the model, retrieval or the database is slow)."
  namespace           = var.metrics_namespace
  metric_name         = "TimeToFirstToken"
  dimensions          = { Service = var.function_name }
  extended_statistic  = "p90"
  period              = local.period
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.time_to_first_token_p90_ms
  treat_missing_data  = "notBreaching" # no answers, nothing slow
  # A p90 of three answers is noise: too few samples leave the state as it is.
  evaluate_low_sample_count_percentiles = "ignore"
  alarm_actions                         = local.actions
  ok_actions                            = local.actions
  tags                                  = var.tags
}

# --- the database ---------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "db_free_storage" {
  alarm_name          = "${var.name}-db-free-storage"
  alarm_description   = "Less than ${var.db_free_storage_threshold_gib} GiB free on the database (autoscaling stops at max_allocated_storage)."
  namespace           = "AWS/RDS"
  metric_name         = "FreeStorageSpace"
  dimensions          = { DBInstanceIdentifier = var.db_instance_identifier }
  statistic           = "Minimum"
  period              = local.period
  evaluation_periods  = 1
  comparison_operator = "LessThanThreshold"
  threshold           = var.db_free_storage_threshold_gib * 1024 * 1024 * 1024
  treat_missing_data  = "breaching" # no storage metric means no database
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "db_cpu" {
  alarm_name          = "${var.name}-db-cpu"
  alarm_description   = "Database CPU above ${var.db_cpu_threshold_percent}% for 15 minutes (burstable classes then run out of credits)."
  namespace           = "AWS/RDS"
  metric_name         = "CPUUtilization"
  dimensions          = { DBInstanceIdentifier = var.db_instance_identifier }
  statistic           = "Average"
  period              = local.period
  evaluation_periods  = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.db_cpu_threshold_percent
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "db_connections" {
  alarm_name          = "${var.name}-db-connections"
  alarm_description   = "More than ${var.db_connections_threshold} database connections: near max_connections, new containers will fail to connect (consider enable_rds_proxy)."
  namespace           = "AWS/RDS"
  metric_name         = "DatabaseConnections"
  dimensions          = { DBInstanceIdentifier = var.db_instance_identifier }
  statistic           = "Maximum"
  period              = local.period
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.db_connections_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags
}

# --- the network ----------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "nat_port_allocation" {
  count = length(var.nat_gateway_ids)

  alarm_name          = "${var.name}-nat-port-allocation-${count.index}"
  alarm_description   = "The NAT gateway could not allocate a source port: outbound calls (HuggingFace, Google, Pinecone) are failing."
  namespace           = "AWS/NATGateway"
  metric_name         = "ErrorPortAllocation"
  dimensions          = { NatGatewayId = var.nat_gateway_ids[count.index] }
  statistic           = "Sum"
  period              = local.period
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags
}
