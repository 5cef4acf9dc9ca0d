# ---------------------------------------------------------------------------------------------
# Locals: derived names, ARNs and the values handed to the templated definitions.
# ---------------------------------------------------------------------------------------------

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  name       = var.project_name
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = var.region

  tags = merge(var.tags, {
    Project     = var.project_name
    Environment = var.environment
    ManagedBy   = "terraform"
  })

  # Relative build dirs are resolved against this module, never the caller's working directory.
  build_dir = startswith(var.build_dir, "/") ? var.build_dir : "${path.module}/${var.build_dir}"
  ml_dir    = "${path.module}/../ml"

  pipeline_name            = coalesce(var.pipeline_name, "${local.name}-training")
  model_package_group_name = coalesce(var.model_package_group_name, "${local.name}-models")
  state_machine_name       = coalesce(var.state_machine_name, "${local.name}-training")
  endpoint_name            = coalesce(var.endpoint_name, "${local.name}-endpoint")
  # Models and endpoint configs the state machine creates are named "<prefix>-<execution>".
  model_name_prefix = local.name
  trigger_name      = "${local.name}-trigger"

  bucket_name = var.create_bucket ? coalesce(var.bucket_name, "${local.name}-${local.account_id}-${local.region}") : var.bucket_name
  bucket_arn  = "arn:${local.partition}:s3:::${local.bucket_name}"
  bucket_id   = var.create_bucket ? aws_s3_bucket.this[0].id : data.aws_s3_bucket.existing[0].id

  sagemaker_role_arn = var.sagemaker_role_name == "" ? aws_iam_role.sagemaker[0].arn : data.aws_iam_role.sagemaker[0].arn
  sns_kms_key_arn    = var.sns_kms_key_id == "" ? aws_kms_key.sns[0].arn : data.aws_kms_key.sns[0].arn

  # SageMaker ARNs carry names in lowercase; the variables enforce lowercase so these match.
  sagemaker_arn_prefix = "arn:${local.partition}:sagemaker:${local.region}:${local.account_id}"

  # The content hash is part of each key, so a script change yields a new pipeline definition.
  prepare_script_md5  = filemd5("${local.ml_dir}/prepare.py")
  evaluate_script_md5 = filemd5("${local.ml_dir}/evaluate.py")
  sourcedir_md5       = filemd5("${local.build_dir}/sourcedir.tar.gz")
  # Processing jobs download their code under its own file name and the pipeline definition runs
  # /opt/ml/processing/input/code/<name>.py, so the hash goes in the prefix, not the name.
  prepare_script_key  = "code/${local.prepare_script_md5}/prepare.py"
  evaluate_script_key = "code/${local.evaluate_script_md5}/evaluate.py"
  sourcedir_key       = "code/sourcedir-${local.sourcedir_md5}.tar.gz"
  # The run report's renderer, the evaluation step's `report` input: ml/report.py and its
  # templates, under one prefix named by their content (ml/report.py BUNDLE_PATTERNS: the same).
  report_code_patterns = ["report.py", "templates/*.j2"]
  report_code_files = sort(distinct(flatten([
    for pattern in local.report_code_patterns : tolist(fileset(local.ml_dir, pattern))
  ])))
  report_code_md5 = md5(join(",", [
    for file in local.report_code_files : "${file}=${filemd5("${local.ml_dir}/${file}")}"
  ]))
  report_code_prefix = "code/${local.report_code_md5}/report"

  # The default data object, created by apply (s3.tf) so the first run has data. Referencing the
  # object orders it before the state machine and pipeline that name it.
  default_data_uri = "s3://${local.bucket_name}/${aws_s3_object.default_data.key}"

  execution_defaults = {
    data_uri                       = local.default_data_uri
    label_column                   = var.label_column
    feature_columns                = var.feature_columns
    class_order                    = var.class_order
    accuracy_threshold             = var.accuracy_threshold
    deploy                         = var.deploy_endpoint
    auto_approve                   = var.auto_approve
    poll_interval_seconds          = var.pipeline_poll_interval_seconds
    max_polls                      = var.pipeline_max_polls
    max_tuning_jobs                = var.max_tuning_jobs
    parallel_tuning_jobs           = var.parallel_tuning_jobs
    endpoint_poll_interval_seconds = var.endpoint_poll_interval_seconds
    max_endpoint_polls             = var.endpoint_max_polls
  }

  # Placeholders of ml/pipeline_definition.json (tests/unit/test_terraform.py keeps them in sync).
  pipeline_template_vars = {
    bucket              = local.bucket_name
    sagemaker_role_arn  = local.sagemaker_role_arn
    sklearn_image_uri   = data.aws_sagemaker_prebuilt_ecr_image.sklearn.registry_path
    xgboost_image_uri   = data.aws_sagemaker_prebuilt_ecr_image.xgboost.registry_path
    prepare_script_uri  = "s3://${local.bucket_name}/${aws_s3_object.prepare_script.key}"
    evaluate_script_uri = "s3://${local.bucket_name}/${aws_s3_object.evaluate_script.key}"
    train_source_uri    = "s3://${local.bucket_name}/${aws_s3_object.sourcedir.key}"
    report_code_uri     = "s3://${local.bucket_name}/${local.report_code_prefix}/"
    default_data_uri    = local.default_data_uri
  }

  # Placeholders of statemachines/training_pipeline.asl.json; all of them sit inside JSON strings,
  # hence the defaults are a JSON document escaped to be the body of a JSON string.
  state_machine_template_vars = {
    defaults_json            = trim(jsonencode(jsonencode(local.execution_defaults)), "\"")
    auto_approve_allowed     = var.allow_auto_approve ? "true" : "false"
    pipeline_name            = aws_sagemaker_pipeline.this.pipeline_name
    bucket                   = local.bucket_name
    model_package_group_name = aws_sagemaker_model_package_group.this.model_package_group_name
    notification_topic_arn   = aws_sns_topic.notifications.arn
    sagemaker_role_arn       = local.sagemaker_role_arn
    xgboost_image_uri        = data.aws_sagemaker_prebuilt_ecr_image.xgboost.registry_path
    endpoint_name            = local.endpoint_name
    endpoint_instance_type   = var.endpoint_instance_type
    model_name_prefix        = local.model_name_prefix
    # The state machine's first Task (terraform/input_validation.tf).
    input_validator_function_arn = aws_lambda_function.input_validator.arn
    # Guarded deployment (terraform/deployment_guardrails.tf): the smoke test, the canary's
    # settings and rollback alarms (an escaped JSON document, like defaults_json), and where
    # each deployment attempt is recorded.
    smoke_test_function_arn    = aws_lambda_function.smoke_test.arn
    deployment_guardrails_json = trim(jsonencode(jsonencode(local.deployment_guardrails)), "\"")
  }

  endpoint_dimensions = {
    EndpointName = local.endpoint_name
    VariantName  = var.endpoint_variant_name
  }

  # Console links in outputs.tf.
  console = "https://${local.region}.console.aws.amazon.com"
}
