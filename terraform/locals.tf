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
  deployment_machine_name  = "${local.name}-deployment"
  monitoring_machine_name  = "${local.name}-monitoring"
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

  # The content hash is part of each key, so a code change yields a new pipeline definition.
  sourcedir_md5 = filemd5("${local.build_dir}/sourcedir.tar.gz")
  sourcedir_key = "code/sourcedir-${local.sourcedir_md5}.tar.gz"
  # Each processing script with the sibling modules it imports (ml/code_bundles.json), staged
  # under a prefix named after the bundle and a hash of its files. A job downloads the whole
  # prefix into /opt/ml/processing/input/code, where the pipeline definition runs <name>.py, so
  # the hash goes in the prefix, not in the file names. An entry under contracts/ is the shared
  # contracts package, read from the repository's root (ml/pipeline.py ROOT_PACKAGES); the other
  # entries are files of ml/.
  code_bundles = jsondecode(file("${local.ml_dir}/code_bundles.json"))
  code_sources = {
    for file in distinct(flatten(values(local.code_bundles))) :
    file => startswith(file, "contracts/") ? "${path.module}/../${file}" : "${local.ml_dir}/${file}"
  }
  code_bundle_prefixes = {
    for name, files in local.code_bundles :
    name => "code/${name}-${md5(join(",", [for file in files : filemd5(local.code_sources[file])]))}"
  }
  code_objects = merge([
    for name, files in local.code_bundles : {
      for file in files : "${name}/${file}" => {
        key    = "${local.code_bundle_prefixes[name]}/${file}"
        source = local.code_sources[file]
      }
    }
  ]...)
  # Each bundle's prefix as a URI, read through its entry script's object (the bundle's first
  # file) so that whatever names the URI is created after the upload.
  code_bundle_uris = {
    for name, files in local.code_bundles :
    name => "s3://${local.bucket_name}/${dirname(aws_s3_object.code["${name}/${files[0]}"].key)}/"
  }

  # The default data object, created by apply (s3.tf) so the first run has data. Referencing the
  # object orders it before the state machine and pipeline that name it.
  default_data_uri = "s3://${local.bucket_name}/${aws_s3_object.default_data.key}"

  # execution_defaults, the map every execution's input is merged over, is generated from the
  # execution input's schema (execution_input.generated.tf).

  # Placeholders of ml/pipeline_definition.json (tests/unit/test_terraform.py keeps them in sync).
  pipeline_template_vars = {
    bucket             = local.bucket_name
    sagemaker_role_arn = local.sagemaker_role_arn
    sklearn_image_uri  = data.aws_sagemaker_prebuilt_ecr_image.sklearn.registry_path
    xgboost_image_uri  = data.aws_sagemaker_prebuilt_ecr_image.xgboost.registry_path
    prepare_code_uri   = local.code_bundle_uris["prepare"]
    evaluate_code_uri  = local.code_bundle_uris["evaluate"]
    train_source_uri   = "s3://${local.bucket_name}/${aws_s3_object.sourcedir.key}"
    default_data_uri   = local.default_data_uri
  }

  endpoint_dimensions = {
    EndpointName = local.endpoint_name
    VariantName  = var.endpoint_variant_name
  }

  # Console links in outputs.tf.
  console = "https://${local.region}.console.aws.amazon.com"
}
