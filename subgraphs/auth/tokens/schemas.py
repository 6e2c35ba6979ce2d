from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from subgraphs.kit.inputs import StrictInput


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class RefreshBody(StrictInput):
    refresh_token: str = Field(min_length=1, max_length=512)


class TokenValidity(BaseModel):
    valid: Literal[True] = True
    user_id: uuid.UUID
    email: str
    role: str
    expires_at: datetime
