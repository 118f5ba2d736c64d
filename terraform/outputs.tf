output "function_url" {
  description = "The streaming Function URL: point the front end (and `make verify`) here."
  value       = module.function.function_url
}

output "region" {
  description = "Region of the stack (the guide's AWS CLI commands use it)."
  value       = var.region
}

output "function_name" {
  description = "Name of the Lambda function."
  value       = module.function.function_name
}

output "function_alias" {
  description = "Alias the Function URL serves; `make rollback` moves it to the previous version."
  value       = module.function.alias_name
}

output "function_version" {
  description = "Version the last apply published (and pointed the alias at)."
  value       = module.function.version
}

output "database_endpoint" {
  description = "Host the function connects to (the RDS Proxy when enabled)."
  value       = module.database.endpoint
}

output "database_port" {
  description = "PostgreSQL port."
  value       = module.database.port
}

output "database_master_secret_arn" {
  description = "Secret holding the database master credentials (managed by RDS)."
  value       = module.database.master_secret_arn
}

output "app_secret_arn" {
  description = "Secret holding HUGGINGFACE_API_KEY, PINECONE_API_KEY, FIREBASE_PROJECT_ID and TAVILY_API_KEY."
  value       = module.secrets.arn
}

output "nat_public_ips" {
  description = "Addresses the function's outbound traffic comes from (for allow-lists)."
  value       = module.network.nat_public_ips
}

output "pgadmin" {
  description = "What pgAdmin needs to connect (the password is in database_master_secret_arn)."
  value = {
    host     = module.database.instance_address
    port     = module.database.port
    database = module.database.database_name
    username = module.database.username
    sslmode  = "require"
  }
}

output "database_deletion_protection" {
  description = "Whether RDS refuses deletion, as last applied: `make destroy` stops before touching anything while it is true."
  value       = module.database.deletion_protection
}

output "database_final_snapshot" {
  description = "Snapshot a destroy leaves (null: none). While it is set, a destroy keeps the KMS key and the application secret (see docs/deploy.md)."
  value       = module.database.final_snapshot_identifier
}

output "retained_on_destroy" {
  description = "Addresses `make destroy` leaves in the account when a final snapshot is kept: the key that decrypts it, and the application secret."
  value = module.database.final_snapshot_identifier == null ? [] : [
    "aws_kms_key.this",
    "module.secrets.aws_secretsmanager_secret.app",
    "module.secrets.aws_secretsmanager_secret_version.app",
  ]
}

output "kms_key_arn" {
  description = "The stack's KMS key (secrets, database, snapshots, logs)."
  value       = aws_kms_key.this.arn
}

output "alarm_topic_arn" {
  description = "SNS topic of the alarms (null when alarms_enabled = false)."
  value       = one(module.alarms[*].topic_arn)
}

output "dashboard_url" {
  description = "Console address of the CloudWatch dashboard (null when dashboard_enabled = false)."
  value       = one(module.dashboard[*].dashboard_url)
}
