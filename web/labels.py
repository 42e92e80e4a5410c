"""The pages' Chinese words: the one table in domain/labels.py, named here so web modules keep their import."""

from rectify.domain.labels import (
    ACTOR_ROLE,
    CHANNEL,
    EVENT,
    OUTCOME,
    ROUTING_RULE,
    STAFF_ROLE,
    STAGE,
    STATUS,
    STATUS_ORDER,
    STATUS_TONE,
    UNIT_KIND,
    category_name,
    label,
    rung,
    unit_name,
)

__all__ = [
    "ACTOR_ROLE",
    "CHANNEL",
    "EVENT",
    "OUTCOME",
    "ROUTING_RULE",
    "STAFF_ROLE",
    "STAGE",
    "STATUS",
    "STATUS_ORDER",
    "STATUS_TONE",
    "UNIT_KIND",
    "category_name",
    "label",
    "rung",
    "unit_name",
]
