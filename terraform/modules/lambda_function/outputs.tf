output "function_arn" {
  description = "ARN of the function."
  value       = aws_lambda_function.this.arn
}
