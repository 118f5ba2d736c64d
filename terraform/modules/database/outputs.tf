output "instance_address" {
  description = "Host name of the RDS instance itself (pgAdmin, migrations)."
  value       = aws_db_instance.this.address
}

output "endpoint" {
  description = "Host the function connects to: the proxy when enabled, else the instance."
  value       = local.endpoint
}

output "port" {
  description = "PostgreSQL port."
  value       = aws_db_instance.this.port
}

output "database_name" {
  description = "Application database."
  value       = aws_db_instance.this.db_name
}

output "username" {
  description = "Master user name (its password is only in the master secret)."
  value       = aws_db_instance.this.username
}

output "master_secret_arn" {
  description = "Secrets Manager secret RDS keeps the master credentials in."
  value       = aws_db_instance.this.master_user_secret[0].secret_arn
}

output "security_group_id" {
  description = "Security group of the instance."
  value       = aws_security_group.database.id
}

output "proxy_enabled" {
  description = "Whether the function goes through an RDS Proxy."
  value       = var.enable_rds_proxy
}

output "instance_identifier" {
  description = "RDS instance identifier (alarm dimensions, CLI)."
  value       = aws_db_instance.this.identifier
}

output "deletion_protection" {
  description = "Whether RDS refuses to delete the instance, as last applied (`make destroy` checks it first)."
  value       = aws_db_instance.this.deletion_protection
}

output "final_snapshot_identifier" {
  description = "Snapshot a destroy leaves (null when skip_final_snapshot)."
  value       = aws_db_instance.this.skip_final_snapshot ? null : aws_db_instance.this.final_snapshot_identifier
}

output "app_username" {
  description = "Role the service connects as (DML only)."
  value       = var.app_username
}

output "app_login_secret_arn" {
  description = "Secret with the service's login (username, password), generated write-only."
  value       = aws_secretsmanager_secret.app_login.arn
}
