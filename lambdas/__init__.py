"""AWS Lambda functions of the project; each sub-package is zipped on its own by `make`."""
