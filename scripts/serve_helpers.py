"""What the scripts that start `cubec serve` share: a free loopback port, an HS256 token, and a
server process with its log."""
import base64, hashlib, hmac, json, socket, subprocess


def free_port():
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def token(secret, claims):
    """A JWT signed with HS256, as `cubec serve` verifies it."""
    enc = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    head = enc(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = enc(json.dumps(claims).encode())
    sig = enc(hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest())
    return f"{head}.{body}.{sig}"


class LoggedProcess:
    """A `cubec serve` process writing to `self.log` (a file opened w+): its log as text, and a
    stop that does not hang on a stuck server."""

    def __init__(self, args, log, **popen):
        self.log = log
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, **popen)

    def text(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
