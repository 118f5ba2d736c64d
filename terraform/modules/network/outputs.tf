output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr" {
  description = "CIDR block of the VPC."
  value       = aws_vpc.this.cidr_block
}

output "public_subnet_ids" {
  description = "Public subnets (NAT gateways), in the order of azs."
  value       = aws_subnet.public[*].id
}

output "private_subnet_ids" {
  description = "Private subnets (function, database), in the order of azs."
  value       = aws_subnet.private[*].id
}

output "nat_gateway_ids" {
  description = "NAT gateways: one, or one per availability zone."
  value       = aws_nat_gateway.this[*].id
}

output "nat_public_ips" {
  description = "Public addresses the function's outbound traffic leaves from."
  value       = aws_eip.nat[*].public_ip
}

output "secretsmanager_endpoint_id" {
  description = "Interface endpoint that keeps Secrets Manager traffic inside the VPC."
  value       = aws_vpc_endpoint.secretsmanager.id
}
