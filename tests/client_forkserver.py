"""A fork server for the Hub tests' client scripts: started once per test process by `hub_server.run_client`, it
imports the heavy libraries every client needs and then forks one child per client script, so that ~80 clients do not
each spend a second or more of CPU importing torch again.

Only libraries that read nothing of the Hub's environment at import are imported here (torch, numpy, scipy): `huggingface_hub`,
`transformers`, `datasets` and `citrus_hf` read `HF_ENDPOINT`, `HF_HOME`, `HF_HUB_OFFLINE`, ... once, at import, and
those differ from client to client, so each child imports them itself after its environment is set, as a fresh Python
would. `hub_server.run_client` sends a client here only when its environment, less those Hub variables, is the one this
server started with (when the test process's environment changes, it starts another server).

A client runs with the interpreter options its server was started with: `python -u client_forkserver.py` serves
`python -u script` clients (those with the package), `python -I client_forkserver.py` serves `python -I script` clients
(those without it: isolated, so no user site, no PYTHON* variables, no script folder on sys.path). A client without the
package blocks `citrus_hf` itself, in its first lines (`hub_server.WITHOUT_PACKAGE_PRELUDE`), and that block holds in a
forked child as in a fresh Python: the server imports nothing of `citrus_hf` (checked below), so what the prelude
filters out of `sys.path` and sets to None in `sys.modules` is all a later `import citrus_hf` could use. What a forked
client shares with its server and a fresh Python would draw anew: the seed of `str` hashing (an `-I` server ignores
PYTHONHASHSEED, as its fresh clients do; a `-u` server is started with the client's PYTHONHASHSEED).

Protocol (one request per connection on the Unix socket named by argv[1]): the test process sends one JSON line
`{"argv": [script, *args], "env": {...}, "cwd": "..."}` with the client's stdout and stderr file descriptors attached
(SCM_RIGHTS); this server forks, answers `{"pid": N}` and, when the child ends, `{"returncode": R}` (negative: the
signal that killed it, as `subprocess` reports). The server ends when its stdin (a pipe from the test process) closes.

The child then runs the script as `python -u script args...` would: stdin `/dev/null`, stdout/stderr the files it was
given (unbuffered: this server runs with `-u`), the client's environment and working folder, `sys.argv`, `sys.path[0]`
the script's folder, a fresh `__main__` module, an uncaught exception printed by `sys.excepthook` with exit code 1,
and the interpreter's ordinary shutdown (atexit handlers, non-daemon threads joined).
"""

import importlib
import json
import os
import select
import signal
import socket
import sys

# The libraries whose import is shared: every client imports them anyway (`citrus_hf` imports scipy.signal;
# transformers' modeling code imports torch._dynamo and torch.distributed.tensor), none reads an HF_* variable at import
# (checked below: none pulls in a Hub library), and all are safe to fork before use (their thread pools start lazily or
# are re-made after a fork). Not pandas or pyarrow (only the `datasets` clients use them; Arrow's allocator threads do
# not survive a fork).
import numpy
import safetensors.torch  # noqa: F401
import scipy.signal  # noqa: F401
import torch
import torch._dynamo  # noqa: F401
import torch.distributed.tensor  # noqa: F401

# ... and others' libraries that `huggingface_hub` and `transformers` import on their way (a fifth of a client's
# imports after torch's): none names an HF_*, TRANSFORMERS_*, TOKENIZERS_* or PYTHON* variable, none starts a thread or
# opens a connection at import. Not `tokenizers` (its Rust thread pool reads TOKENIZERS_PARALLELISM) nor `kernels` (a
# Hub library). Those not installed are not imported by clients either.
for shared in ("filelock", "httpx2", "jinja2", "packaging.version", "PIL.Image", "regex", "tqdm.auto", "yaml"):
    try:
        importlib.import_module(shared)
    except ImportError:
        pass

HUB_MODULES = ("huggingface_hub", "transformers", "datasets", "citrus_hf", "peft", "accelerate")
leaked = [name for name in HUB_MODULES if name in sys.modules]
if leaked:  # a new version that imports one of them would fix that module's constants here
    raise SystemExit(f"client_forkserver: the shared imports imported {leaked}; clients need a fresh Python")

MAX_FDS = 2
server_script, server_path = sys.argv[0], sys.argv[1]
listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
listener.bind(server_path)
listener.listen(8)
print("ready", flush=True)


def receive(connection: socket.socket) -> tuple[dict, list[int]]:
    """The request's JSON line and the file descriptors sent with it."""
    data, fds = b"", []
    while not data.endswith(b"\n"):
        chunk, ancillary, _flags, _address = connection.recvmsg(1 << 16, socket.CMSG_SPACE(MAX_FDS * 4))
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.extend(int.from_bytes(payload[i : i + 4], sys.byteorder) for i in range(0, len(payload), 4))
        if not chunk:
            raise EOFError("the test process closed the connection before its request ended")
        data += chunk
    return json.loads(data), fds


request = None
while request is None:
    readable, _, _ = select.select([listener, sys.stdin], [], [])
    if sys.stdin in readable and not os.read(sys.stdin.fileno(), 1 << 16):
        sys.exit(0)  # the test process is gone
    if listener not in readable:
        continue
    connection, _ = listener.accept()
    with connection:
        try:
            candidate, fds = receive(connection)
        except (EOFError, OSError, ValueError) as error:
            print(f"client_forkserver: bad request: {error}", file=sys.stderr, flush=True)
            continue
        pid = os.fork()
        if pid == 0:
            request = candidate
            listener.close()
            break
        for fd in fds:
            os.close(fd)
        connection.sendall(json.dumps({"pid": pid}).encode() + b"\n")
        _, status = os.waitpid(pid, 0)
        returncode = os.waitstatus_to_exitcode(status)
        try:
            connection.sendall(json.dumps({"returncode": returncode}).encode() + b"\n")
        except OSError:
            pass  # the test process gave up on this client (timeout) and closed its end

# ----------------------------------------------------------------------------------------- in the client's child
connection.close()
signal.signal(signal.SIGINT, signal.default_int_handler)
stdout_fd, stderr_fd = fds
stdin_fd = os.open(os.devnull, os.O_RDONLY)
for source, target in ((stdin_fd, 0), (stdout_fd, 1), (stderr_fd, 2)):
    os.dup2(source, target)
    os.close(source)
os.chdir(request["cwd"])
os.environ.clear()
os.environ.update(request["env"])
script, *args = request["argv"]
sys.argv = [script, *args]
interpreter_options = sys.orig_argv[1 : sys.orig_argv.index(server_script)]  # ["-u"] or ["-I"]
sys.orig_argv = [sys.executable, *interpreter_options, script, *args]
if not sys.flags.safe_path:
    # `python script.py` starts sys.path with the script's folder (symlinks resolved), not the server's; `python -I`
    # (safe_path) puts no folder there, as this server's own sys.path has none.
    sys.path[0] = os.path.dirname(os.path.realpath(script))
# A fresh Python seeds numpy's global generator from the OS; a forked child would repeat the server's stream.
numpy.random.seed()

import builtins  # noqa: E402
import importlib.machinery  # noqa: E402
import types  # noqa: E402

main = types.ModuleType("__main__")
main.__file__ = script
main.__cached__ = None
main.__annotations__ = {}
main.__builtins__ = builtins
main.__loader__ = importlib.machinery.SourceFileLoader("__main__", script)
server_module = sys.modules["__main__"]  # kept alive: this code still runs in its globals
sys.modules["__main__"] = main
try:
    with open(script, "rb") as source_file:
        code = compile(source_file.read(), script, "exec")
    exec(code, main.__dict__)
except SystemExit:
    raise
except BaseException as error:  # noqa: BLE001  (what Python does with an uncaught exception: print it, exit 1)
    error = error.with_traceback(error.__traceback__.tb_next)  # without this file's frame
    sys.excepthook(type(error), error, error.__traceback__)
    sys.exit(1)
