"""The real servers the transport tests talk to: RabbitMQ (already running) and a private sshd.

Missing services fail the tests that need them; they never skip.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pika


SSHD = "/usr/sbin/sshd"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


class Sshd:
    """A private OpenSSH server: generated host and client keys, a free loopback port."""

    def __init__(self, root: Path):
        if not os.path.exists(SSHD):
            raise RuntimeError(f"{SSHD} is missing: run tests/services.sh (make test does) to install openssh-server")
        self.root = root
        self.port = free_port()
        self.user = os.environ.get("USER") or __import__("pwd").getpwuid(os.getuid()).pw_name
        root.mkdir(parents=True, exist_ok=True)
        self.host_key = root / "ssh_host_ed25519_key"
        self.client_key = root / "client_ed25519"
        self.config = root / "sshd_config"
        self.process: subprocess.Popen | None = None
        self.new_host_key()
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.client_key)], check=True)
        (root / "authorized_keys").write_text(self.client_key.with_suffix(".pub").read_text())
        (root / "authorized_keys").chmod(0o600)
        self.config.write_text(f"""
Port {self.port}
ListenAddress 127.0.0.1
HostKey {self.host_key}
PidFile {root}/sshd.pid
AuthorizedKeysFile {root}/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
Subsystem sftp internal-sftp
LogLevel ERROR
MaxStartups 100
MaxSessions 100
""")
        Path("/run/sshd").mkdir(parents=True, exist_ok=True)  # sshd's privilege separation directory

    def new_host_key(self) -> None:
        """Generate a (new) host key: what a partner's server looks like after it was replaced."""
        for path in (self.host_key, self.host_key.with_suffix(".pub")):
            path.unlink(missing_ok=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.host_key)], check=True)

    @property
    def host_key_sha256(self) -> str:
        """The host key's fingerprint as an operator gets it from the partner: `ssh-keygen -lf`
        (never the hub's own fingerprint(), which would then be checked against itself)."""
        printed = subprocess.run(["ssh-keygen", "-lf", str(self.host_key.with_suffix(".pub"))], check=True,
                                 capture_output=True, text=True).stdout
        return printed.split()[1]  # "256 SHA256:... comment (ED25519)"

    def start(self) -> None:
        log = self.root / "sshd.log"
        with open(log, "ab") as output:
            self.process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(self.config)],
                                            stdout=subprocess.DEVNULL, stderr=output)
        try:
            wait_for_port(self.port)
        except RuntimeError:
            self.process.kill()
            self.process.wait()
            raise RuntimeError(f"sshd did not start: {log.read_text(errors='replace')}")

    def stop(self) -> None:
        """Stop the server and cut every connection it serves, as a real restart would."""
        if self.process is None:
            return
        for pid in [*_descendants(self.process.pid), self.process.pid]:
            try:
                os.kill(pid, signal.SIGKILL if pid != self.process.pid else signal.SIGTERM)
            except ProcessLookupError:
                pass
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (sshd forks one or two per connection), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def rabbitmq_connection() -> pika.BlockingConnection:
    try:
        return pika.BlockingConnection(pika.ConnectionParameters(
            "127.0.0.1", 5672, credentials=pika.PlainCredentials("guest", "guest"), connection_attempts=3,
            retry_delay=1))
    except pika.exceptions.AMQPError as exc:
        raise RuntimeError(f"RabbitMQ is not reachable on 127.0.0.1:5672 ({exc!r}): run tests/services.sh\n"
                           f"{_rabbitmq_diagnosis()}") from exc


def _rabbitmq_diagnosis() -> str:
    """What the broker says of itself, for a failure that would otherwise say only 'timeout'."""
    diagnostics = shutil.which("rabbitmq-diagnostics") or "/usr/sbin/rabbitmq-diagnostics"
    lines = []
    for check in ("check_running", "check_local_alarms", "check_port_connectivity"):
        try:
            done = subprocess.run([diagnostics, "-q", check], capture_output=True, text=True, timeout=60)
            lines.append(f"rabbitmq-diagnostics {check}: exit {done.returncode} {(done.stdout + done.stderr).strip()}")
        except (OSError, subprocess.TimeoutExpired) as exc:
            lines.append(f"rabbitmq-diagnostics {check}: {exc}")
    return "\n".join(lines)


def close_all_rabbitmq_connections() -> None:
    """What a broker restart or a network cut does to every client: their connections drop."""
    rabbitmqctl = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    subprocess.run([rabbitmqctl, "close_all_connections", "fault test"], check=True, capture_output=True)


# The test broker's well-known guest account; endpoint files name the variable, never the value.
AMQP_PASSWORD_ENV = "HUB_TEST_AMQP_PASSWORD"
os.environ.setdefault(AMQP_PASSWORD_ENV, "guest")


class Broker:
    """Queue and exchange names private to one test, and what it takes to play a party on them."""

    def __init__(self):
        import uuid

        self.prefix = f"t-{uuid.uuid4().hex[:10]}"
        self.names: list[str] = []
        self._connection = None

    def transport(self, name: str, **extra) -> dict:
        """The [transport] table of an AMQP endpoint called ``name``."""
        self.names.append(name)
        return {"kind": "amqp", "username": "guest", "password_env": AMQP_PASSWORD_ENV,
                "receive_queue": self.receive_queue(name), "send_exchange": f"{self.prefix}.hub.to-{name}",
                "send_routing_key": name, "send_queue": self.send_queue(name), **extra}

    def receive_queue(self, name: str) -> str:
        return f"{self.prefix}.{name}.to-hub"

    def send_queue(self, name: str) -> str:
        return f"{self.prefix}.{name}.from-hub"

    def channel(self):
        if self._connection is None or not self._connection.is_open:
            self._connection = rabbitmq_connection()
        return self._connection.channel()

    def _retrying(self, action):
        """Run an action on a channel; a party reconnects when the broker dropped its connection."""
        for attempt in range(5):
            try:
                channel = self.channel()
                try:
                    return action(channel)
                finally:
                    if channel.is_open:
                        channel.close()
            except (pika.exceptions.ConnectionClosed, pika.exceptions.StreamLostError,
                    pika.exceptions.ChannelWrongStateError, pika.exceptions.AMQPConnectionError):
                self._connection = None
                time.sleep(0.2 * (attempt + 1))
        raise RuntimeError("the test party could not reach RabbitMQ")

    def consumers(self, queue: str) -> int:
        """How many consumers a queue has (0 when it does not exist yet)."""
        def passive(channel):
            return channel.queue_declare(queue, passive=True).method.consumer_count

        try:
            return self._retrying(passive)
        except pika.exceptions.ChannelClosedByBroker:  # NOT_FOUND: nobody declared it yet
            return 0

    def waiting(self, queue: str) -> int:
        """How many messages a queue holds ready for a consumer (unacknowledged ones do not count)."""
        return self._retrying(lambda channel: channel.queue_declare(queue, passive=True).method.message_count)

    def publish(self, name: str, body: bytes, message_id: str) -> None:
        """What the party does: put a document in the queue the hub consumes (confirmed)."""
        def publish(channel):
            channel.confirm_delivery()
            channel.basic_publish("", self.receive_queue(name), body,
                                  pika.BasicProperties(delivery_mode=2, message_id=message_id), mandatory=True)

        self._retrying(publish)

    def publish_many(self, name: str, documents: list[tuple[str, bytes]]) -> None:
        """A burst: many documents on one channel, each confirmed by the broker."""
        def publish(channel):
            channel.confirm_delivery()
            for message_id, body in documents:
                channel.basic_publish("", self.receive_queue(name), body,
                                      pika.BasicProperties(delivery_mode=2, message_id=message_id),
                                      mandatory=True)

        self._retrying(publish)

    def take_all(self, queue: str) -> list[tuple[pika.BasicProperties, bytes]]:
        """Everything waiting in a queue, acknowledged (what the party's consumer sees)."""
        def take(channel):
            taken = []
            while True:
                method, properties, body = channel.basic_get(queue, auto_ack=True)
                if method is None:
                    return taken
                taken.append((properties, body))

        return self._retrying(take)

    def delete_all(self) -> None:
        for name in self.names:
            for queue in (self.receive_queue(name), self.send_queue(name)):
                for target, kind in ((queue, "queue"), (f"{queue}.dead", "queue"), (f"{queue}.dlx", "exchange")):
                    try:
                        channel = self.channel()
                        (channel.queue_delete if kind == "queue" else channel.exchange_delete)(target)
                        channel.close()
                    except pika.exceptions.AMQPError:
                        pass
            try:
                channel = self.channel()
                channel.exchange_delete(f"{self.prefix}.hub.to-{name}")
                channel.close()
            except pika.exceptions.AMQPError:
                pass
        if self._connection is not None and self._connection.is_open:
            self._connection.close()
