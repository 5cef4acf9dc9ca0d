# ---------------------------------------------------------------------------------------------
# Earlier addresses of resources that one mechanism now declares (a map and a for_each), so an
# existing stack's state follows them instead of destroying and recreating each resource: a
# function's log group holds its logs, and an alarm created again under a new address would be
# deleted by the old one's destroy, since both carry the same name.
# ---------------------------------------------------------------------------------------------

moved {
  from = module.input_validator
  to   = module.lambda["input_validator"]
}

moved {
  from = module.snapshot
  to   = module.lambda["snapshot"]
}

moved {
  from = module.pipeline_outcome
  to   = module.lambda["pipeline_outcome"]
}

moved {
  from = module.deployment_plan
  to   = module.lambda["deployment_plan"]
}

moved {
  from = module.notify
  to   = module.lambda["notify"]
}

moved {
  from = module.smoke_test
  to   = module.lambda["smoke_test"]
}

moved {
  from = module.monitor_plan
  to   = module.lambda["monitor_plan"]
}

moved {
  from = module.monitor_outcome
  to   = module.lambda["monitor_outcome"]
}

moved {
  from = aws_cloudwatch_metric_alarm.executions_failed["training"]
  to   = aws_cloudwatch_metric_alarm.this["training-executions-failed"]
}

moved {
  from = aws_cloudwatch_metric_alarm.executions_failed["deployment"]
  to   = aws_cloudwatch_metric_alarm.this["deployment-executions-failed"]
}

moved {
  from = aws_cloudwatch_metric_alarm.executions_failed["monitoring"]
  to   = aws_cloudwatch_metric_alarm.this["monitoring-executions-failed"]
}

moved {
  from = aws_cloudwatch_metric_alarm.trigger_dead_letters
  to   = aws_cloudwatch_metric_alarm.this["trigger-dead-letters"]
}

moved {
  from = aws_cloudwatch_metric_alarm.request_dead_letters["uploads"]
  to   = aws_cloudwatch_metric_alarm.this["uploads-dead-letters"]
}

moved {
  from = aws_cloudwatch_metric_alarm.request_dead_letters["deployments"]
  to   = aws_cloudwatch_metric_alarm.this["deployments-dead-letters"]
}

moved {
  from = aws_cloudwatch_metric_alarm.endpoint["invocation-5xx"]
  to   = aws_cloudwatch_metric_alarm.this["endpoint-invocation-5xx"]
}

moved {
  from = aws_cloudwatch_metric_alarm.endpoint["model-latency"]
  to   = aws_cloudwatch_metric_alarm.this["endpoint-model-latency"]
}

moved {
  from = aws_cloudwatch_metric_alarm.drift
  to   = aws_cloudwatch_metric_alarm.this["drift-detected"]
}
