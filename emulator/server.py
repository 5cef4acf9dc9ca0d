"""The emulator's server process: moto in server mode with the project's extensions.

``python -m emulator.server [--host 127.0.0.1] [--port 0] [--ready-file PATH]`` binds the port
(0 = a free one chosen by the OS, so there is no race between picking and binding), sets
``MOTO_PORT`` (moto's Step Functions interpreter calls the other services on
``localhost:$MOTO_PORT``), calls ``configure_server()`` and serves until SIGTERM/SIGINT. When the
socket is listening it writes ``{"host", "port", "pid"}`` to ``--ready-file`` so the parent
(``emulator.process``) learns the port without parsing logs.

Everything that must run inside this process (moto extensions, in-process hooks such as the
local SageMaker pipeline runner) is installed by ``configure_server(options)``.

``--tls-dir DIR`` adds a second listener on the same backends that speaks HTTPS, with a
self-signed certificate for 127.0.0.1 written to ``DIR/ca.pem`` (clients trust it through
``AWS_CA_BUNDLE``, which boto3 and Terraform's AWS provider and S3 backend read). IAM's
``aws:SecureTransport`` is true only there, as on AWS, so a bucket policy denying insecure
transport denies the plain-http listener's STS sessions.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_HOST = "127.0.0.1"
EVENTS_FILE = "events.jsonl"
#: Beside the pipelines' work directory: one directory per processing job a caller created.
PROCESSING_JOBS_DIR = "processing-jobs"


@dataclass(frozen=True)
class ServerOptions:
    """What the server process installs before it serves.

    ``host``/``port`` are where it listens (the port is the bound one by the time
    ``configure_server`` runs), so in-process hooks can build the endpoint URL.
    """

    host: str = DEFAULT_HOST
    port: int = 0
    #: Where the local SageMaker executor runs pipeline steps; ``None``: moto's default
    #: (pipeline executions succeed at once and nothing runs).
    pipeline_workdir: Path | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"


def configure_server(options: ServerOptions) -> None:
    """Install everything that runs inside the server process (called once, before serving).

    A new in-process hook (e.g. the local SageMaker pipeline runner) is one more call here,
    driven by a new ``ServerOptions`` field and command-line flag.
    """
    from emulator import aws
    from emulator.aws import core
    from emulator.aws.sagemaker import hosting

    # An AWS account has the AWS managed policies (the deploy role attaches PowerUserAccess);
    # moto loads them only when asked, when an account's IAM backend is created.
    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    aws.install_all()
    core.set_emulator_endpoint(options.endpoint_url)
    if options.pipeline_workdir is not None:
        install_pipeline_executor(options.pipeline_workdir, options.endpoint_url)
        # Deployed models are unpacked beside the pipeline work, not in the system temp dir.
        hosting.set_endpoint_cache_dir(options.pipeline_workdir.parent / "endpoints")


def install_pipeline_executor(workdir: Path, endpoint_url: str) -> None:
    """Run started SageMaker pipelines, and processing jobs callers create, for real; progress
    events go to ``workdir/events.jsonl``."""
    from emulator.aws import sagemaker
    from emulator.runner import local_pipeline_executor, local_processing_jobs

    workdir.mkdir(parents=True, exist_ok=True)
    events = workdir / EVENTS_FILE

    def on_event(event: dict[str, Any]) -> None:
        # One JSON line per event, appended: the demo follows the file while the run goes on.
        with events.open("a", encoding="utf-8") as sink:
            sink.write(json.dumps(event, default=str) + "\n")

    sagemaker.set_pipeline_runner(
        local_pipeline_executor(workdir, endpoint_url=endpoint_url, on_event=on_event)
    )
    # Processing jobs a state machine creates (the drift monitor) run beside the pipelines.
    sagemaker.set_processing_job_runner(
        local_processing_jobs(workdir.parent / PROCESSING_JOBS_DIR, endpoint_url=endpoint_url)
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m emulator.server", description=__doc__)
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--ready-file", type=Path, help="written with the port once listening")
    parser.add_argument(
        "--pipeline-workdir",
        type=Path,
        help="run SageMaker pipelines for real with the local executor, working here",
    )
    parser.add_argument(
        "--tls-dir",
        type=Path,
        help="also serve HTTPS (self-signed certificate written to DIR/ca.pem)",
    )
    return parser.parse_args(argv)


def write_self_signed_certificate(directory: Path, host: str) -> tuple[Path, Path]:
    """A certificate for ``host`` (and localhost) that is its own CA: ``(ca.pem, key.pem)``."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "local AWS emulator")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(host))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    ca, key_file = directory / "ca.pem", directory / "key.pem"
    ca.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca, key_file


def _write_ready_file(path: Path, payload: dict[str, Any]) -> None:
    # Write-then-rename: the parent never reads a half-written file.
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload))
    tmp.replace(path)


def with_operation_in_log(handler: type) -> type:
    """``handler`` whose request log lines name the JSON protocol's operation (``X-Amz-Target``):
    every SageMaker, Step Functions... request is ``POST /``, so the plain line cannot tell how
    each call was answered (a CreatePipeline retried by the SDK looked like any other POST)."""

    class OperationLoggingHandler(handler):  # type: ignore[misc,valid-type]
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            target = self.headers.get("X-Amz-Target") if getattr(self, "headers", None) else None
            if target:
                self.log("info", '"%s" %s %s %s', self.requestline, code, size, target)
            else:
                super().log_request(code, size)

    return OperationLoggingHandler


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Imported here so ``--help`` stays fast and importing this module has no side effects.
    from werkzeug.serving import make_server

    from emulator.aws.core import server_application

    app, moto_handler = server_application()
    request_handler = with_operation_in_log(moto_handler)
    server = make_server(args.host, args.port, app, threaded=True, request_handler=request_handler)
    port = int(server.server_address[1])
    os.environ["MOTO_PORT"] = str(port)
    configure_server(
        ServerOptions(host=args.host, port=port, pipeline_workdir=args.pipeline_workdir)
    )
    ready: dict[str, Any] = {"host": args.host, "port": port, "pid": os.getpid()}
    if args.tls_dir is not None:
        ca, key = write_self_signed_certificate(args.tls_dir, args.host)
        tls_server = make_server(
            args.host,
            0,
            app,
            threaded=True,
            request_handler=request_handler,
            ssl_context=(str(ca), str(key)),
        )
        threading.Thread(target=tls_server.serve_forever, daemon=True, name="tls").start()
        ready.update(tls_port=int(tls_server.server_address[1]), ca_bundle=str(ca))

    def _stop(signum: int, frame: Any) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    if args.ready_file is not None:
        _write_ready_file(args.ready_file, ready)
    try:
        server.serve_forever()
    except SystemExit:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
