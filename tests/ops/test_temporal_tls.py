"""Temporal connection settings: mTLS to a dev server behind a TLS front (certificates made by the test), each
setting as a value or as a file, and the mistakes refused before anything connects."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.service import TLSConfig

from rectify.client import ServerUnavailable, connect_temporal
from rectify.client.temporal import tls_config
from rectify.config import Settings
from rectify.devstack import TemporalDevServer
from tests.support.certs import ServerCertificate, make_server_certificate
from tests.support.tls_proxy import tls_front


@pytest.fixture
def certs(tmp_path: Path) -> ServerCertificate:
    return make_server_certificate(tmp_path / "tls")


@pytest.fixture
async def front(dev_server: TemporalDevServer, certs: ServerCertificate) -> AsyncIterator[str]:
    async with tls_front(dev_server.port, certs.cert_file, certs.key_file, client_ca=certs.ca_file) as port:
        yield f"127.0.0.1:{port}"


def mtls_env(address: str, certs: ServerCertificate) -> dict[str, str]:
    """The certificate and the CA as files, the key as a value: an operator may mount either."""
    assert certs.client_key_file is not None
    return {
        "RECTIFY_TEMPORAL_ADDRESS": address,
        "RECTIFY_TEMPORAL_TLS_CERT_FILE": str(certs.client_cert_file),
        "RECTIFY_TEMPORAL_TLS_KEY": certs.client_key_file.read_text(),
        "RECTIFY_TEMPORAL_TLS_CA_FILE": str(certs.ca_file),
        "RECTIFY_TEMPORAL_TLS_SERVER_NAME": "localhost",
    }


async def test_a_client_with_its_certificate_reaches_temporal_over_mtls(front: str, certs: ServerCertificate) -> None:
    settings = Settings.from_env(mtls_env(front, certs))
    client = await connect_temporal(settings, patience=20)
    info = await client.workflow_service.get_system_info(_system_info_request())
    assert info.server_version  # an answer from the dev server, through TLS both ways
    assert await client.count_workflows() is not None


async def test_without_a_client_certificate_or_trusting_another_ca_the_connection_is_refused(
    front: str, certs: ServerCertificate, tmp_path: Path
) -> None:
    no_cert = {k: v for k, v in mtls_env(front, certs).items() if "CERT" not in k and "KEY" not in k}
    with pytest.raises(ServerUnavailable, match="could not be reached"):
        await connect_temporal(Settings.from_env(no_cert))
    stranger = make_server_certificate(tmp_path / "other", ca_name="Another CA")
    wrong_ca = mtls_env(front, certs) | {"RECTIFY_TEMPORAL_TLS_CA_FILE": str(stranger.ca_file)}
    with pytest.raises(ServerUnavailable, match="could not be reached"):
        await connect_temporal(Settings.from_env(wrong_ca))


def test_tls_settings_come_as_values_or_files_and_mistakes_are_named(certs: ServerCertificate) -> None:
    settings = Settings.from_env(mtls_env("h:1", certs))
    assert settings.temporal_client_cert == certs.client_cert_file.read_bytes()  # type: ignore[union-attr]
    config = tls_config(settings)
    assert isinstance(config, TLSConfig) and config.domain == "localhost"
    assert config.server_root_ca_cert == certs.ca_file.read_bytes()
    assert "BEGIN" not in repr(settings)  # keys and certificates never reach a log line
    assert tls_config(Settings.from_env({})) is False
    cloud = Settings.from_env({"RECTIFY_TEMPORAL_API_KEY": "tck-secret "})
    assert cloud.temporal_api_key == "tck-secret" and tls_config(cloud) is True  # an API key implies TLS
    assert "tck-secret" not in repr(cloud)
    both = mtls_env("h:1", certs) | {"RECTIFY_TEMPORAL_TLS_CERT": "-----BEGIN CERTIFICATE-----"}
    with pytest.raises(ValueError, match="RECTIFY_TEMPORAL_TLS_CERT or RECTIFY_TEMPORAL_TLS_CERT_FILE, not both"):
        Settings.from_env(both)
    with pytest.raises(ValueError, match="RECTIFY_TEMPORAL_TLS_CA_FILE: cannot read /nope"):
        Settings.from_env({"RECTIFY_TEMPORAL_TLS_CA_FILE": "/nope"})
    with pytest.raises(ValueError, match="go together"):
        Settings.from_env({"RECTIFY_TEMPORAL_TLS_CERT_FILE": str(certs.client_cert_file)})
    with pytest.raises(ValueError, match="RECTIFY_TEMPORAL_TLS_KEY: not PEM"):
        Settings.from_env({"RECTIFY_TEMPORAL_TLS_KEY": "/etc/rectify/client.key"})  # a path in the value variable


def _system_info_request():  # type: ignore[no-untyped-def]
    from temporalio.api.workflowservice.v1 import GetSystemInfoRequest

    return GetSystemInfoRequest()
