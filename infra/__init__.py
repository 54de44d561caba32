"""Turning the app into a deployable CloudFormation/SAM stack."""
