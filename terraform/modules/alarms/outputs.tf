output "topic_arn" {
  description = "SNS topic every alarm notifies (subscribe more endpoints here)."
  value       = aws_sns_topic.alarms.arn
}

output "alarm_names" {
  description = "Names of the alarms created."
  value = concat(
    [
      aws_cloudwatch_metric_alarm.function_errors.alarm_name,
      aws_cloudwatch_metric_alarm.function_throttles.alarm_name,
      aws_cloudwatch_metric_alarm.function_duration.alarm_name,
      aws_cloudwatch_metric_alarm.db_free_storage.alarm_name,
      aws_cloudwatch_metric_alarm.db_cpu.alarm_name,
      aws_cloudwatch_metric_alarm.db_connections.alarm_name,
      aws_cloudwatch_metric_alarm.app_server_errors.alarm_name,
      aws_cloudwatch_metric_alarm.time_to_first_token.alarm_name,
    ],
    aws_cloudwatch_metric_alarm.function_concurrency[*].alarm_name,
    aws_cloudwatch_metric_alarm.nat_port_allocation[*].alarm_name,
  )
}
