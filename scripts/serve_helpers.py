"""What the scripts that start `cubec serve` share: a free loopback port, an HS256 token, a
server process with its log, and a PostgreSQL cluster of their own."""
import base64, hashlib, hmac, json, os, shutil, socket, subprocess

AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def pg_bin():
    """The newest of Debian's PostgreSQL binary folders."""
    return sorted(d for d in (f"/usr/lib/postgresql/{v}/bin" for v in os.listdir("/usr/lib/postgresql"))
                  if os.path.isdir(d))[-1]




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


def run_as_pg(args, **kw):
    cmd = (["runuser", "-u", "postgres", "--"] if AS_ROOT else []) + args
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw)


class Cluster:
    """A PostgreSQL cluster of a script's own under `work` (Debian's binaries; as the `postgres`
    user when run as root), trusting local connections as `cubec`."""

    def __init__(self, work, name, ssl=False):
        self.work = work
        self.dir = os.path.join(work, name)
        os.makedirs(self.dir)
        if AS_ROOT:
            shutil.chown(self.dir, "postgres")
        self.port = free_port()
        run_as_pg([f"{pg_bin()}/initdb", "-D", f"{self.dir}/data", "-U", "cubec", "-A", "trust", "--no-sync"])
        if ssl:
            self.tls_setup()

    def tls_setup(self):
        d = f"{self.dir}/data"
        subj = ["-subj", "/CN=cubec test CA"]
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout",
                        f"{self.work}/ca.key", "-out", f"{self.work}/ca.pem", *subj], check=True, capture_output=True)
        subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{d}/server.key", "-out",
                        f"{self.work}/server.csr", "-subj", "/CN=localhost"], check=True, capture_output=True)
        ext = f"{self.work}/ext.cnf"
        open(ext, "w").write("subjectAltName=DNS:localhost\n")
        subprocess.run(["openssl", "x509", "-req", "-in", f"{self.work}/server.csr", "-CA", f"{self.work}/ca.pem", "-CAkey",
                        f"{self.work}/ca.key", "-CAcreateserial", "-days", "2", "-out", f"{d}/server.crt", "-extfile", ext],
                       check=True, capture_output=True)
        # Another CA that signed nothing: the wrong root for verify-full.
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout",
                        f"{self.work}/other.key", "-out", f"{self.work}/other.pem", "-subj", "/CN=someone else"],
                       check=True, capture_output=True)
        os.chmod(f"{d}/server.key", 0o600)
        if AS_ROOT:
            for f in ("server.key", "server.crt"):
                shutil.chown(f"{d}/{f}", "postgres")
        with open(f"{d}/postgresql.conf", "a") as f:
            f.write("ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n")
        with open(f"{d}/pg_hba.conf", "w") as f:
            f.write("local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 0.0.0.0/0 reject\n")

    def start(self):
        run_as_pg([f"{pg_bin()}/pg_ctl", "-D", f"{self.dir}/data", "-l", f"{self.dir}/log", "-w", "-o",
                   f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off", "start"])

    def stop(self, mode="fast"):
        run_as_pg([f"{pg_bin()}/pg_ctl", "-D", f"{self.dir}/data", "-m", mode, "-w", "stop"])

    def restart(self):
        run_as_pg([f"{pg_bin()}/pg_ctl", "-D", f"{self.dir}/data", "-l", f"{self.dir}/log", "-m", "fast", "-w", "-o",
                   f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off", "restart"])

    def psql(self, sql):
        return run_as_pg(["psql", "-h", self.dir, "-p", str(self.port), "-U", "cubec", "-d", "postgres", "-Atc", sql])

    def url(self, host="127.0.0.1", query=""):
        return f"postgres://cubec@{host}:{self.port}/postgres{query}"

    def destroy(self):
        try:
            self.stop("immediate")
        except Exception:
            pass


def wait_until(ready, seconds, what, log_path):
    """Polls `ready()` (True, or an OSError while not yet) until it holds; exits with the end of
    the log at `log_path` when `seconds` pass first."""
    import sys
    import time
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if ready():
                return
        except OSError:
            pass
        time.sleep(0.3)
    sys.exit(f"{what} did not start:\n" + open(log_path).read()[-2000:])
