"""Runs cimtlm commands through `cimtlm serve`, cimtlm's start-up server (platforms/cli/
serve_command.cpp): a cimtlm process that has loaded its libraries and run their static
initialization once, and forks a child per command. A small `cimtlm run` spends a large part of
its time in the dynamic loader and the static constructors (scripts/sweep/README.md, round 7);
each worker slot pays that once instead of once per point.

One server per worker thread and executable, started at the slot's first point, over a socketpair
(only this process holds the other end). The server ends at the socket's EOF: when this process
ends or is killed, its servers go with it. When a server cannot be used (an older cimtlm without
`serve`, no SOCK_SEQPACKET, a refused request, CIMTLM_SWEEP_SERVER=0), the caller runs a fresh
process instead (spawn() returns None).

Shipped to the workers by value with task.py (cloudpickle), so self-contained.
"""
import array
import atexit
import os
import signal
import socket
import subprocess
import sys
import threading
import types

MAGIC = "cimtlm-serve-1"


def _process_state():
    """The servers of this process. This module may be loaded more than once in a process (Dask
    unpickles it by value with tasks), so its state lives in one module registered in
    sys.modules, not in its own globals."""
    state = sys.modules.get("_cimtlm_sweep_servers")
    if state is None:
        state = types.ModuleType("_cimtlm_sweep_servers")
        state.local = threading.local()  # per worker thread: {executable: Server}
        state.all = []  # every server started, for close_all()
        state.lock = threading.Lock()
        state.unavailable = set()  # executables whose server would not start
        if sys.modules.setdefault("_cimtlm_sweep_servers", state) is state:
            atexit.register(_close_servers, state)
        state = sys.modules["_cimtlm_sweep_servers"]
    return state


def enabled():
    return os.environ.get("CIMTLM_SWEEP_SERVER", "1") != "0" and hasattr(socket, "SOCK_SEQPACKET")


class ServerGone(Exception):
    """The server ended while a command ran (killed from outside)."""


class Server:
    """A `cimtlm serve` process and this end of its socket."""

    def __init__(self, executable, environment):
        self.executable, self.environment = executable, environment
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.process = subprocess.Popen(
                [executable, "serve", "--fd", str(theirs.fileno())], pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                env=environment)
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self.socket = ours
        self.broken = False  # gone, closed or unusable: the next command starts another server
        self.answered = 0  # requests it answered

    def request(self, command, fds):
        """Sends a command; returns (pid, pidfd or None), or None if the server refused it or is
        gone (nothing was started then)."""
        fields = [MAGIC, os.getcwd(), str(len(command)), *command, str(len(self.environment))]
        fields += [f"{name}={value}" for name, value in self.environment.items()]
        payload = b"\0".join(os.fsencode(field) for field in fields) + b"\0"
        try:
            self.socket.sendmsg([payload], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                             array.array("i", fds))])
            reply, pidfd = self._receive()
        except OSError:
            reply, pidfd = b"", None
        if not reply.startswith(b"started "):
            if reply.startswith(b"refused "):
                self.answered += 1
            else:
                self.broken = True
            return None
        self.answered += 1
        return int(reply.split()[1]), pidfd

    def _receive(self):
        """One reply: (text, a descriptor passed with it or None). b"" when the server is gone."""
        size = socket.CMSG_SPACE(array.array("i").itemsize)
        while True:
            try:
                reply, ancillary, _, _ = self.socket.recvmsg(256, size)
                break
            except InterruptedError:
                continue
        descriptor = None
        for level, kind, data in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds = array.array("i")
                fds.frombytes(data[:len(data) - len(data) % fds.itemsize])
                for fd in fds:
                    if descriptor is None:
                        descriptor = fd
                    else:
                        os.close(fd)
        return reply, descriptor

    def close(self):
        self.broken = True
        self.socket.close()  # EOF: the server exits
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class ServedProcess:
    """A command the server runs: the parts of subprocess.Popen that task.py uses."""

    def __init__(self, server, args, pid, pidfd):
        self.server, self.args, self.pid, self.pidfd = server, args, pid, pidfd
        self.returncode = None

    def _read_status(self):
        try:
            reply, extra = self.server._receive()
        except OSError:
            reply, extra = b"", None
        if extra is not None:
            os.close(extra)
        words = reply.split()
        if len(words) == 2 and words[0] in (b"exit", b"signal"):
            code = int(words[1])
            self.returncode = code if words[0] == b"exit" else -code
        else:
            # The server was killed from outside: the child may live on; kill it (the pidfd still
            # names it) and report it as killed, which the sweep records as an error to retry.
            self.server.broken = True
            self.kill()
            self.returncode = -signal.SIGKILL
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None
        return self.returncode

    def wait_exit(self, timeout_s):
        """True when the command exited, False when it ran out of time (it is killed then)."""
        import select

        try:
            poller = select.poll()
            poller.register(self.server.socket, select.POLLIN)
            ready = poller.poll(min(max(timeout_s, 0) * 1000.0, 2 ** 31 - 1))
        except BaseException:
            self.kill()
            self.wait()
            raise
        if not ready:
            self.kill()
            self.wait()
            return False
        self.wait()
        return True

    def poll(self):
        return self.returncode

    def wait(self, timeout=None):
        if self.returncode is None:
            self._read_status()
        return self.returncode

    def kill(self):
        if self.returncode is not None:
            return
        try:
            if self.pidfd is not None:
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            else:
                # No pidfd (a kernel before 5.3): the pid is still the child's, as the server
                # reaps it only after it exits and reports that first.
                os.kill(self.pid, signal.SIGKILL)
        except (AttributeError, OSError):
            pass


def _is_binary(executable):
    """Only a cimtlm binary itself is served: a wrapper script (one that logs, delays, adds
    options or runs cimtlm elsewhere) must run as it is, once per command."""
    try:
        with open(executable, "rb") as handle:
            return handle.read(4) == b"\x7fELF"
    except OSError:
        return False


def _server_for(executable, environment):
    state = _process_state()
    servers = getattr(state.local, "servers", None)
    if servers is None:
        servers = state.local.servers = {}
    server = servers.get(executable)
    if server is not None and (server.broken or server.environment != environment):
        servers.pop(executable)
        _forget(server)
        server = None
    if server is None:
        if executable in state.unavailable:
            return None
        if not _is_binary(executable):
            state.unavailable.add(executable)
            return None
        server = Server(executable, environment)
        servers[executable] = server
        with state.lock:
            state.all.append(server)
    return server


def _forget(server):
    state = _process_state()
    with state.lock:
        if server in state.all:
            state.all.remove(server)
    server.close()


def spawn(command, environment, stdin_fd, stdout_fd, stderr_fd, _retry=True):
    """Starts `command` (command[0] the cimtlm executable) through this thread's server: a
    ServedProcess, or None when no server can run it (the caller starts a fresh process)."""
    if not enabled():
        return None
    state = _process_state()
    try:
        server = _server_for(command[0], environment)
    except OSError:
        state.unavailable.add(command[0])
        return None
    if server is None:
        return None
    started = server.request(command, [stdin_fd, stdout_fd, stderr_fd])
    if started is None and server.broken:
        state.local.servers.pop(command[0], None)
        _forget(server)
        if server.answered == 0:
            # It never answered: an older cimtlm without `serve`, or a server that cannot fork
            # safely. Fresh processes from now on.
            state.unavailable.add(command[0])
            return None
        # It served before and is gone now (killed from outside): a new one, once.
        return spawn(command, environment, stdin_fd, stdout_fd, stderr_fd, False) if _retry else None
    return None if started is None else ServedProcess(server, command, *started)


def close_all():
    """Ends every server of this process (they end at its exit anyway)."""
    _close_servers(_process_state())


def _close_servers(state):
    with state.lock:
        servers = list(state.all)
        state.all.clear()
    for server in servers:
        server.close()
