"""Transports, registered by name: ``transport.kind`` in an endpoint file picks one.

Each entry builds the (inbound, outbound) pair of one endpoint from its
``[transport]`` table. Adding a transport means adding a module and a line here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from exchange.config import Endpoint
from exchange.errors import ConfigError
from exchange.parsing import Limits

from .amqp import AmqpInbound, AmqpOutbound, AmqpSettings
from .base import InboundAdapter, OutboundAdapter
from .local import LocalInbound, LocalOutbound, LocalSettings
from .sftp import SftpInbound, SftpOutbound, SftpSettings

Factory = Callable[[Endpoint, Path, Limits], tuple[InboundAdapter, OutboundAdapter]]


def _local(endpoint: Endpoint, data_dir: Path, limits: Limits) -> tuple[InboundAdapter, OutboundAdapter]:
    settings = LocalSettings(endpoint.name, endpoint.transport, data_dir, limits.max_bytes)
    return LocalInbound(settings), LocalOutbound(settings)


def _amqp(endpoint: Endpoint, data_dir: Path, limits: Limits) -> tuple[InboundAdapter, OutboundAdapter]:
    settings = AmqpSettings.read(endpoint.name, endpoint.transport, limits.max_bytes)
    return AmqpInbound(settings), AmqpOutbound(settings)


def _sftp(endpoint: Endpoint, data_dir: Path, limits: Limits) -> tuple[InboundAdapter, OutboundAdapter]:
    settings = SftpSettings.read(endpoint.name, endpoint.transport, limits.max_bytes)
    return SftpInbound(settings), SftpOutbound(settings)


TRANSPORTS: dict[str, Factory] = {"local": _local, "amqp": _amqp, "sftp": _sftp}


def build(endpoint: Endpoint, data_dir: Path, limits: Limits) -> tuple[InboundAdapter, OutboundAdapter]:
    factory = TRANSPORTS.get(endpoint.transport_kind)
    if factory is None:
        raise ConfigError(endpoint.file, "transport.kind",
                          f"unknown transport {endpoint.transport_kind!r}; known: {', '.join(sorted(TRANSPORTS))}")
    return factory(endpoint, data_dir, limits)
