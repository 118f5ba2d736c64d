output "function_name" {
  description = "Name of the Lambda function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the Lambda function."
  value       = aws_lambda_function.this.arn
}

output "alias_name" {
  description = "Alias the Function URL serves (moved by deploys and `make rollback`)."
  value       = aws_lambda_alias.live.name
}

output "version" {
  description = "Newest version, published by the last apply that changed the function."
  value       = aws_lambda_function.this.version
}

output "live_version" {
  description = "Version the `live` alias (and so the URL) serves."
  value       = aws_lambda_alias.live.function_version
}

output "function_url" {
  description = "The streaming Function URL (point the front end here)."
  value       = aws_lambda_function_url.this.function_url
}

output "security_group_id" {
  description = "Security group of the function (the database admits it on 5432)."
  value       = aws_security_group.this.id
}

output "role_arn" {
  description = "Execution role of the function."
  value       = aws_iam_role.this.arn
}

output "log_group_name" {
  description = "CloudWatch log group of the function."
  value       = aws_cloudwatch_log_group.this.name
}
