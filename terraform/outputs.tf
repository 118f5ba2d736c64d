output "function_url" {
  description = "The streaming Function URL: point the front end (and `make verify`) here."
  value       = module.function.function_url
}

output "function_name" {
  description = "Name of the Lambda function."
  value       = module.function.function_name
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
  description = "Secret holding HUGGINGFACE_API_KEY, PINECONE_API_KEY and FIREBASE_PROJECT_ID."
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
