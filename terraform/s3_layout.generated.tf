# Generated from contracts/s3_layout.py by `make definitions`
# (python -m devtools.s3_layout_tf): do not edit; change the layout there and regenerate.
# The bucket's prefixes (each ends with /), the ones a run may read its input from, and the
# ones a lifecycle rule expires.

locals {
  s3_prefix = {
    data_raw     = "data/raw/"
    data_seed    = "data/seed/"
    code         = "code/"
    runs         = "runs/"
    pipelines    = "pipelines/"
    models       = "models/"
    evaluation   = "evaluation/"
    reports      = "reports/"
    deployments  = "deployments/"
    data_capture = "data-capture/"
    monitoring   = "monitoring/"
  }
  s3_input_prefixes    = ["data/raw/", "data/seed/"]
  s3_expiring_prefixes = ["runs/", "pipelines/", "reports/", "data-capture/", "monitoring/"]
}
