"""The base of every request and response model."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ApiModel(BaseModel):
    # Validators are built on a model's first use, not at import: a Lambda
    # cold start pays only for the models of the route it serves.
    model_config = ConfigDict(defer_build=True)
