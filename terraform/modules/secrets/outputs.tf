output "arn" {
  description = "ARN of the application secret (never its value)."
  value       = aws_secretsmanager_secret.app.arn
}
